import Foundation  // URL (build time only; nothing of it reaches a plugin)
import PackagePlugin

/// Build-tool plugin applied to every fshost plugin target, companion
/// target and companion-call target. It generates, from the target alone,
/// what a plugin author must not write by hand (so it cannot disagree with
/// what the host checks before loading):
///
/// - a resource type (target `WebServer`): the `.fshost_plugin` ELF record
///   with type name `webserver` (the target's name in lower case), and the
///   entry point `fshost_plugin_entry` exporting the `ResourceType` named
///   like the target under that type name. A target under the package's
///   own `Tests/` (its path relative to the package root) is marked test-only (left out of `fshost list` and `make install`); the
///   signatures of the companion calls it depends on are written into its
///   record (`fshost check` matches them with its companions);
/// - a companion (target `webserver-http`, `<type>-<name>`): its record
///   (marked companion, carrying the call's signature) and the export
///   `fshost_companion_call` serving the call target it depends on;
/// - a companion call (target `HTTPProbeCall`, a name ending in `Call`):
///   the call's `signature`, `<CallType>@<hash of the target's sources>`.
@main
struct FSPluginRecordPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "FSPluginGenerated.swift")
        let tool = try context.tool(named: "FSPluginRecordGen").url
        func sources(_ t: Target) -> [URL] {
            (t.sourceModule?.sourceFiles(withSuffix: "swift").map(\.url) ?? []).sorted { $0.path() < $1.path() }
        }
        let arguments: [String]
        var inputs: [URL] = []
        if target.name.hasSuffix("Call") {
            inputs = sources(target)
            arguments = ["call", target.name, output.path()] + inputs.map { $0.path() }
        } else if target.name.contains("-") {
            let calls = target.dependencies.compactMap { dependency -> Target? in
                if case .target(let t) = dependency, t.name.hasSuffix("Call") { return t }
                return nil
            }
            guard calls.count == 1, let call = calls.first else {
                throw PluginError("companion target \(target.name) must depend on exactly one companion-call target (a name ending in Call), found \(calls.count)")
            }
            inputs = sources(call)
            arguments = ["companion", target.name.lowercased(), call.name, output.path()] + inputs.map { $0.path() }
        } else {
            // Test-only is decided by the target's path relative to the
            // package root (PluginRecord.isTestOnly), in the generator.
            let placement = ["--target-directory", target.directoryURL.path(),
                             "--package-root", context.package.directoryURL.path()]
            // The companion calls it makes: their signatures go into its
            // record, so `fshost check` can match its companions before load.
            var calls: [String] = []
            for case .target(let call) in target.dependencies where call.name.hasSuffix("Call") {
                let files = sources(call)
                inputs += files
                calls += ["--call", call.name] + files.map { $0.path() }
            }
            arguments = ["plugin", target.name.lowercased(), target.name, output.path()]
                + placement + calls
        }
        return [
            .buildCommand(
                displayName: "Generating the fshost record and entry point of \(target.name)",
                executable: tool, arguments: arguments, inputFiles: inputs, outputFiles: [output])
        ]
    }
}

struct PluginError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
