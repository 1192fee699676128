import ArgumentParser
import FSHost

/// `fshost list`: the installed resource types.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List installed resource types (plugins in FSHOST_PLUGIN_PATH).",
        discussion: "Each plugin is verified and loaded to read its summary; a refused one is listed with the reason.")

    func run() throws {
        let search = PluginSearchPath.fromEnvironment()
        let types = search.installedTypes()
        if types.isEmpty {
            print("no resource types in \(search.directories.joined(separator: ":"))")
            return
        }
        let width = types.map(\.type.count).max() ?? 0
        for (type, path) in types {
            let padded = type + String(repeating: " ", count: width - type.count)
            do {
                let plugin = try PluginLoader.load(type: type, searchPath: search)
                print("\(padded)  \(plugin.summary)")
            } catch {
                print("\(padded)  REFUSED: \(error.message) (\(path))")
            }
        }
    }
}
