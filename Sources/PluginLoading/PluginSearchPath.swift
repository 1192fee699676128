import HAVocabulary
import PluginRecord
#if canImport(Glibc)
import Glibc
#endif

/// The plugin directories, searched in order for `<type>.so` (installed
/// name) or `lib<type>.so` (SwiftPM's build-tree name).
public struct PluginSearchPath: Sendable {
    public let directories: [String]

    public init(directories: [String]) { self.directories = directories }

    /// `FSHOST_PLUGIN_PATH`, else next to the executable (see ``HostPaths``).
    public static func fromEnvironment() -> PluginSearchPath {
        PluginSearchPath(directories: HostPaths.fromEnvironment().pluginPath)
    }

    /// File names a type's plugin may have.
    static func fileNames(_ type: String) -> [String] { [type + ".so", "lib" + type + ".so"] }

    /// The plugin file of `type` and its directory, or nil (also when a
    /// directory cannot be read: see ``find(type:)``). Only a stat: no file
    /// is opened here.
    public func locate(type: String) -> (path: String, directory: String)? {
        do throws(HostError) { return try find(type: type) } catch { return nil }
    }

    /// The plugin file of `type` and its directory, or nil when no directory
    /// of the path has one. A missing directory is skipped (the default path
    /// names the installed one, absent in a build tree).
    ///
    /// - Throws: ``HostError`` with `hostError` when a directory exists but
    ///   cannot be searched (permissions, not a directory, I/O): whether the
    ///   type is installed cannot be told, and taking a later directory's
    ///   plugin would load another file than the one the path names.
    public func find(type: String) throws(HostError) -> (path: String, directory: String)? {
        guard PluginRecord.isValidTypeName(type) else { return nil }
        for directory in directories {
            for name in Self.fileNames(type) {
                let path = directory + "/" + name
                var st = stat()
                if lstat(path, &st) == 0 { return (path, directory) }
                let code = errno
                guard code == ENOENT else {
                    throw HostError(.hostError, "cannot read plugin directory \(directory): \(String(cString: strerror(code)))")
                }
            }
        }
        return nil
    }

    /// Every type with a plugin file in the path (the first one wins), by
    /// name. Companions (`<type>-<name>.so`) are not types of their own.
    public func installedTypes() -> [(type: String, path: String)] {
        var found: [String: String] = [:]
        for directory in directories {
            guard let dir = opendir(directory) else { continue }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                var name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
                }
                guard name.hasSuffix(".so") else { continue }
                name.removeLast(3)
                if name.hasPrefix("lib") { name.removeFirst(3) }
                // The first directory that has the type wins, as for an action.
                guard PluginRecord.isValidTypeName(name), !name.contains("-"), found[name] == nil,
                      let located = locate(type: name), located.directory == directory else { continue }
                found[name] = located.path
            }
        }
        return found.keys.sorted().map { ($0, found[$0]!) }
    }
}
