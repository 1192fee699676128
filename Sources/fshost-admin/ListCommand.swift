import ArgumentParser
import HAVocabulary
import PluginLoading

/// `fshost list`: the installed resource types.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List installed resource types (plugins in FSHOST_PLUGIN_PATH).",
        discussion: """
        Each plugin is verified and loaded to read its summary; a refused one is listed with the reason. \
        Plugins built for the tests only (their record says so) are left out unless --all.
        """)

    @Flag(help: "Also list plugins built for the tests only.")
    var all = false

    @Flag(help: "Print only the names of the types, one per line (what `make install` installs); a refused plugin is named on stderr and the exit status is its status.")
    var names = false

    func run() throws {
        let search = PluginSearchPath.fromEnvironment()
        let types = search.installedTypes()
        if types.isEmpty {
            if !names { print("no resource types in \(search.directories.joined(separator: ":"))") }
            return
        }
        var refused: HostError?
        let width = types.map(\.type.count).max() ?? 0
        for (type, path) in types {
            let padded = type + String(repeating: " ", count: width - type.count)
            do {
                let plugin = try BoundedPluginLoad.load(type: type, searchPath: search)
                if plugin.record.isTestOnly && !all { continue }
                print(names ? type : "\(padded)  \(plugin.summary)")
            } catch {
                if names {
                    // A script installing these must not silently leave one out.
                    printError("\(type): \(error.message) (\(path))")
                    refused = refused ?? error
                    continue
                }
                print("\(padded)  REFUSED: \(error.message) (\(path))")
            }
        }
        if let refused { throw ExitCode(refused.status) }
    }
}
