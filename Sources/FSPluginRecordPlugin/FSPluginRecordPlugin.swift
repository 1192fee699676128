import PackagePlugin

/// Build-tool plugin applied to every fshost plugin target: generates the
/// `.fshost_plugin` ELF record (magic, ABI version, compiler version, type
/// name) that the host reads before it loads the plugin.
///
/// The type name is the target's name in lower case (`WebServer` →
/// `webserver`); the SDK checks at load time that the `ResourceType` it
/// exports carries the same name.
@main
struct FSPluginRecordPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let typeName = target.name.lowercased()
        let output = context.pluginWorkDirectoryURL.appending(path: "FSPluginRecord.swift")
        return [
            .buildCommand(
                displayName: "Generating the fshost plugin record for \(typeName)",
                executable: try context.tool(named: "FSPluginRecordGen").url,
                arguments: [typeName, output.path()],
                inputFiles: [],
                outputFiles: [output])
        ]
    }
}
