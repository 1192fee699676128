import ELFCheck
import FSPluginABI
import HAVocabulary
import PluginRecord
import HostLock
#if canImport(Glibc)
import Glibc
#endif

/// Finds, verifies and loads plugins. Nothing of a file runs before every
/// ELF check passed, and what is loaded is the file that was checked: the
/// verifier opens the file once, checks that descriptor, and `dlopen` loads
/// `/proc/self/fd/N` of it, so a file renamed over the plugin's path in
/// between (a package upgrade, an attacker) is never loaded unchecked. A
/// loaded plugin is never unloaded (the Swift runtime keeps pointers into
/// its conformance records).
public enum PluginLoader {
    /// Locates `type` in `searchPath`, verifies it and loads it.
    ///
    /// - Throws: ``HostError`` with `notSupported` (no plugin for the type),
    ///   `hostError` (a plugin directory cannot be read, so whether the type
    ///   is installed cannot be told) or `pluginRefused` (a check failed, the
    ///   entry symbol misbehaved).
    /// `phase` is told when verification and loading are done (`"verify"`,
    /// `"dlopen"`), for the action's timing line.
    /// `cache`: where verifications are remembered (the action path's,
    /// under the run directory; the plugin's companions use it too); nil:
    /// verify in full.
    public static func load(type: String, searchPath: PluginSearchPath, cache: VerificationCache? = nil,
                            phase: (String) -> Void = { _ in }) throws(HostError) -> LoadedPlugin {
        let file = try verify(type: type, searchPath: searchPath, cache: cache)
        phase("verify")
        return try load(verified: file, cache: cache, phase: phase)
    }

    /// Locates `type` in `searchPath` and verifies it, without loading it:
    /// the open, checked file, for ``load(verified:cache:phase:)`` in this process
    /// or in a forked child (a FailSafe batch verifies once and each
    /// resource's worker loads the same descriptor: what is checked is
    /// what is used). Nothing of the file runs.
    ///
    /// - Throws: ``HostError`` as ``load(type:searchPath:cache:phase:)``.
    public static func verify(type: String, searchPath: PluginSearchPath,
                              cache: VerificationCache? = nil) throws(HostError) -> VerifiedPluginFile {
        guard let found = try searchPath.find(type: type) else {
            throw HostError(.notSupported, "'\(type)' is neither an installed resource type (no \(type).so in \(searchPath.directories.joined(separator: ":"))) nor a command (see fshost --help)")
        }
        return try verify(path: found.path, directory: found.directory, type: type, cache: cache)
    }

    /// Verifies and loads the plugin at `path`, which must live in `directory`.
    public static func load(path: String, directory: String, type: String?, cache: VerificationCache? = nil,
                            phase: (String) -> Void = { _ in }) throws(HostError) -> LoadedPlugin {
        let file = try verify(path: path, directory: directory, type: type, cache: cache)
        phase("verify")
        return try load(verified: file, cache: cache, phase: phase)
    }

    /// Verifies the plugin at `path` (in `directory`) as a resource type.
    static func verify(path: String, directory: String, type: String?,
                       cache: VerificationCache?) throws(HostError) -> VerifiedPluginFile {
        // Before the verifier takes its snapshot of the loaded objects.
        AutolinkedRuntime.load(for: path)
        do {
            var verifier = PluginVerifier(expectedTypeName: type, pluginDirectory: directory)
            verifier.expectedRole = .resourceType
            verifier.cache = cache
            return try verifier.open(path: path)
        } catch {
            if error.check == "role" {
                // A companion asked for as a type: not a refused plugin, just not a type.
                throw HostError(.notSupported, "'\(type ?? path)' is not a resource type: \(error.reason)")
            }
            throw HostError(.pluginRefused, "plugin refused: \(error.description)")
        }
    }

    /// Loads a verified plugin file (``verify(type:searchPath:cache:)``):
    /// `dlopen` of its descriptor, the entry, and the descriptor's checks.
    /// `phase` is told `"dlopen"` once the object is loaded.
    /// `cache` is where the plugin's companions and their needed libraries
    /// are remembered (the plugin's own cache; nil: verified in full).
    public static func load(verified file: VerifiedPluginFile, cache: VerificationCache? = nil,
                            phase: (String) -> Void = { _ in }) throws(HostError) -> LoadedPlugin {
        let path = file.path
        let record = file.record
        let entry: fshost_entry_function = try open(file, symbol: FSHOST_ENTRY_SYMBOL)
        phase("dlopen")
        guard let descriptor = entry().plugin else {
            throw HostError(.pluginRefused, "plugin refused: \(path): \(FSHOST_ENTRY_SYMBOL) returned no descriptor")
        }
        let d = descriptor.pointee
        guard d.abi_version == FSHOST_ABI_VERSION else {
            throw HostError(.pluginRefused, "plugin refused: \(path): descriptor ABI version \(d.abi_version), this fshost speaks \(FSHOST_ABI_VERSION)")
        }
        // The first published descriptor ends after `processes`; fields
        // appended since are read only when struct_size covers them.
        let firstPublishedSize = MemoryLayout<fshost_plugin>.offset(of: \fshost_plugin.attribute_size)!
        guard d.struct_size >= UInt32(firstPublishedSize) else {
            throw HostError(.pluginRefused, "plugin refused: \(path): descriptor is \(d.struct_size) bytes, expected at least \(firstPublishedSize)")
        }
        guard ProcessPatternLayout.stride(of: descriptor) != nil else {
            throw HostError(.pluginRefused, "plugin refused: \(path): process_pattern_size \(d.process_pattern_size) is not the stride of an fshost_process_pattern array (at least \(ProcessPatternLayout.firstSize) bytes, a multiple of \(MemoryLayout<UnsafeRawPointer>.alignment), at most 4096)")
        }
        let name = d.type_name.map { String(cString: $0) } ?? ""
        guard name == record.typeName else {
            throw HostError(.pluginRefused, "plugin refused: \(path): descriptor names type '\(name)', its ELF record '\(record.typeName)'")
        }
        guard d.create != nil, d.destroy != nil, d.start != nil, d.stop != nil, d.monitor != nil else {
            throw HostError(.pluginRefused, "plugin refused: \(path): descriptor lacks create, destroy, start, stop or monitor")
        }
        return LoadedPlugin(path: path, record: record, descriptor: descriptor, verificationCache: cache)
    }

    /// Verifies a companion object `<type>-<name>.so` (or `lib…`) beside the
    /// plugin and returns its `symbol`.
    /// A companion asked for again in the same process (a retried probe)
    /// is the one already loaded: it is neither verified nor loaded again,
    /// and no further descriptor is kept open.
    package static func companion(of plugin: LoadedPlugin, name: String, symbol: String) throws(HostError) -> UnsafeMutableRawPointer {
        try loadCompanion(of: plugin, name: name, key: symbol, symbol: symbol) { type, directory in
            PluginVerifier(expectedTypeName: type, pluginDirectory: directory, entrySymbol: symbol)
        }
    }

    /// The typed call of companion `<type>-<name>.so` beside the plugin: its
    /// record must be a companion's carrying `signature`, else it is refused
    /// before dlopen with both signatures named.
    package static func companionCall(of plugin: LoadedPlugin, name: String, signature: String) throws(HostError) -> UnsafeMutableRawPointer {
        try loadCompanion(of: plugin, name: name, key: signature, symbol: FSHOST_COMPANION_SYMBOL) { type, directory in
            var verifier = PluginVerifier(expectedTypeName: type, pluginDirectory: directory)
            verifier.expectedRole = .companion(signature: signature)
            return verifier
        }
    }

    /// Companion symbols loaded in this process, by plugin path, name and key.
    private static let loadedCompanions = Locked<[String: LoadedSymbol]>([:])

    /// A symbol of a loaded object (never unloaded, so shareable between threads).
    private struct LoadedSymbol: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
    }

    /// Finds `<type>-<name>.so` beside the plugin, verifies it with the
    /// checks of `makeVerifier(companionType, directory)`, loads it through
    /// its verified descriptor and returns `symbol`. Once per process and
    /// `key` (a retried probe asks again): neither verified nor loaded twice.
    private static func loadCompanion(of plugin: LoadedPlugin, name: String, key: String, symbol: String,
                                      verifier makeVerifier: (String, String) -> PluginVerifier) throws(HostError) -> UnsafeMutableRawPointer {
        let cacheKey = plugin.path + "\u{0}" + name + "\u{0}" + key
        if let loaded = loadedCompanions.withLock({ $0[cacheKey] }) { return loaded.pointer }
        let directory = HostPaths.parent(plugin.path)
        let companionType = plugin.typeName + "-" + name
        guard let found = try PluginSearchPath(directories: [directory]).find(type: companionType) else {
            throw HostError(.notSupported, "companion '\(companionType)' not found beside \(plugin.path)")
        }
        let file: VerifiedPluginFile
        do {
            // Remembered as the plugin was (its own key: type, role, symbol),
            // and so are the libraries it brings (libpq's ~25: ~7 ms of libelf).
            var verifier = makeVerifier(companionType, directory)
            verifier.cache = plugin.verificationCache
            file = try verifier.open(path: found.path)
        } catch {
            throw HostError(.pluginRefused, "companion refused: \(error.description)")
        }
        let pointer: UnsafeMutableRawPointer = try open(file, symbol: symbol)
        loadedCompanions.withLock { $0[cacheKey] = LoadedSymbol(pointer: pointer) }
        return pointer
    }

    /// dlopen (now, local, never unloaded) of the verified descriptor, and dlsym.
    ///
    /// The descriptor stays open once the object is loaded: the loader knows
    /// the object by the name `/proc/self/fd/N`, and a later `dlopen` of the
    /// same name (a companion whose descriptor got the same number) would be
    /// handed this object instead of its own file. An open descriptor per
    /// loaded object (close-on-exec) keeps every name unique.
    private static func open<T>(_ file: VerifiedPluginFile, symbol: String) throws(HostError) -> T {
        guard let handle = dlopen(file.loadPath, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let why = dlerror().map { String(cString: $0) } ?? "unknown error"
            file.close()
            throw HostError(.pluginRefused, "plugin refused: \(file.path): dlopen failed: \(why)")
        }
        guard let pointer = dlsym(handle, symbol) else {
            throw HostError(.pluginRefused, "plugin refused: \(file.path): symbol \(symbol) not found")
        }
        return unsafeBitCast(pointer, to: T.self)
    }
}
