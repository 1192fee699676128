import ELFCheck
import FSPluginABI
import PluginRecord
#if canImport(Glibc)
import Glibc
#endif

/// Finds, verifies and loads plugins. Nothing of a file runs before every
/// ELF check passed; a loaded plugin is never unloaded (the Swift runtime
/// keeps pointers into its conformance records).
public enum PluginLoader {
    /// Locates `type` in `searchPath`, verifies it and loads it.
    ///
    /// - Throws: ``HostError`` with `notSupported` (no plugin for the type)
    ///   or `pluginRefused` (a check failed, the entry symbol misbehaved).
    public static func load(type: String, searchPath: PluginSearchPath) throws(HostError) -> LoadedPlugin {
        guard let found = searchPath.locate(type: type) else {
            throw HostError(.notSupported, "'\(type)' is neither an installed resource type (no \(type).so in \(searchPath.directories.joined(separator: ":"))) nor a command (see fshost --help)")
        }
        return try load(path: found.path, directory: found.directory, type: type)
    }

    /// Verifies and loads the plugin at `path`, which must live in `directory`.
    public static func load(path: String, directory: String, type: String?) throws(HostError) -> LoadedPlugin {
        let record: PluginRecord
        do {
            var verifier = PluginVerifier(expectedTypeName: type, pluginDirectory: directory)
            verifier.expectedRole = .resourceType
            record = try verifier.verify(path: path)
        } catch {
            if error.check == "role" {
                // A companion asked for as a type: not a refused plugin, just not a type.
                throw HostError(.notSupported, "'\(type ?? path)' is not a resource type: \(error.reason)")
            }
            throw HostError(.pluginRefused, "plugin refused: \(error.description)")
        }
        PhaseTimer.mark("verify")
        let entry: fshost_entry_function = try open(path: path, symbol: FSHOST_ENTRY_SYMBOL)
        PhaseTimer.mark("dlopen")
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
        guard ProcessChecks.patternStride(of: descriptor) != nil else {
            throw HostError(.pluginRefused, "plugin refused: \(path): process_pattern_size \(d.process_pattern_size) is not the stride of an fshost_process_pattern array (at least \(ProcessChecks.firstPatternSize) bytes, a multiple of \(MemoryLayout<UnsafeRawPointer>.alignment), at most 4096)")
        }
        let name = d.type_name.map { String(cString: $0) } ?? ""
        guard name == record.typeName else {
            throw HostError(.pluginRefused, "plugin refused: \(path): descriptor names type '\(name)', its ELF record '\(record.typeName)'")
        }
        guard d.create != nil, d.destroy != nil, d.start != nil, d.stop != nil, d.monitor != nil else {
            throw HostError(.pluginRefused, "plugin refused: \(path): descriptor lacks create, destroy, start, stop or monitor")
        }
        return LoadedPlugin(path: path, record: record, descriptor: descriptor)
    }

    /// Verifies a companion object `<type>-<name>.so` (or `lib…`) beside the
    /// plugin and returns its `symbol`.
    static func companion(of plugin: LoadedPlugin, name: String, symbol: String) throws(HostError) -> UnsafeMutableRawPointer {
        let directory = HostPaths.parent(plugin.path)
        let companionType = plugin.typeName + "-" + name
        guard let found = PluginSearchPath(directories: [directory]).locate(type: companionType) else {
            throw HostError(.notSupported, "companion '\(companionType)' not found beside \(plugin.path)")
        }
        do {
            _ = try PluginVerifier(expectedTypeName: companionType, pluginDirectory: directory, entrySymbol: symbol)
                .verify(path: found.path)
        } catch {
            throw HostError(.pluginRefused, "companion refused: \(error.description)")
        }
        return try open(path: found.path, symbol: symbol)
    }

    /// Typed companions loaded so far, by path: each is verified and loaded
    /// once per process (monitor retries call it again).
    nonisolated(unsafe) private static var companionCalls: [String: UnsafeMutableRawPointer] = [:]

    /// The typed call of companion `<type>-<name>.so` beside the plugin: its
    /// record must be a companion's carrying `signature`, else it is refused
    /// before dlopen with both signatures named.
    static func companionCall(of plugin: LoadedPlugin, name: String, signature: String) throws(HostError) -> UnsafeMutableRawPointer {
        let directory = HostPaths.parent(plugin.path)
        let companionType = plugin.typeName + "-" + name
        guard let found = PluginSearchPath(directories: [directory]).locate(type: companionType) else {
            throw HostError(.notSupported, "companion '\(companionType)' not found beside \(plugin.path)")
        }
        if let loaded = companionCalls[found.path] { return loaded }
        do {
            var verifier = PluginVerifier(expectedTypeName: companionType, pluginDirectory: directory)
            verifier.expectedRole = .companion(signature: signature)
            _ = try verifier.verify(path: found.path)
        } catch {
            throw HostError(.pluginRefused, "companion refused: \(error.description)")
        }
        let call: UnsafeMutableRawPointer = try open(path: found.path, symbol: FSHOST_COMPANION_SYMBOL)
        companionCalls[found.path] = call
        return call
    }

    /// dlopen (now, local, never unloaded) and dlsym. Loads the resolved
    /// path: the one the verifier checked (and whose `$ORIGIN` it expanded).
    private static func open<T>(path: String, symbol: String) throws(HostError) -> T {
        guard let resolved = realpath(path, nil) else {
            throw HostError(.pluginRefused, "plugin refused: \(path): \(String(cString: strerror(errno)))")
        }
        defer { free(resolved) }
        guard let handle = dlopen(resolved, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let why = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw HostError(.pluginRefused, "plugin refused: \(path): dlopen failed: \(why)")
        }
        guard let pointer = dlsym(handle, symbol) else {
            throw HostError(.pluginRefused, "plugin refused: \(path): symbol \(symbol) not found")
        }
        return unsafeBitCast(pointer, to: T.self)
    }
}
