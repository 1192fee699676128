import ArgumentParser
import Foundation
import HAVocabulary
import PluginLoading
import PluginRecord

/// `fshost scaffold NAME`: a new resource type, copied from the template
/// plugin (the same file that is built and tested as `template`).
struct ScaffoldCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaffold",
        abstract: "Create a new resource-type plugin from the template.",
        discussion: """
        Writes <directory>/<Name>/<Name>.swift, a copy of the template plugin with the \
        type renamed, and prints the Package.swift line that builds it. The type name is \
        the target name in lower case. Refuses to overwrite an existing directory.
        """)

    @Argument(help: "The plugin's target name, e.g. MailServer (type name: mailserver).")
    var name: String

    @Option(help: "Where to create the plugin's directory.")
    var directory: String = "Plugins"

    @Option(help: "The template source (default: FSHOST_TEMPLATE, the installed copy, or the source tree).")
    var template: String?

    func run() throws {
        let typeName = name.lowercased()
        guard name.first?.isUppercase == true, name.allSatisfy({ $0.isLetter || $0.isNumber }),
              PluginRecord.isValidTypeName(typeName) else {
            throw fail(HostError(.invalidArguments, "'\(name)' is not a plugin name: use CamelCase letters and digits, starting upper case (type name: its lower case)"))
        }
        guard let source = templateSource() else {
            throw fail(HostError(.noConfigInfo, "template plugin source not found; pass --template PATH or set FSHOST_TEMPLATE"))
        }
        let text = try String(contentsOfFile: source, encoding: .utf8)
            .replacingOccurrences(of: "Template", with: name)
            .replacingOccurrences(of: "\"template\"", with: "\"\(typeName)\"")
        let target = directory + "/" + name
        guard !FileManager.default.fileExists(atPath: target) else {
            throw fail(HostError(.invalidArguments, "\(target) exists; not overwriting it"))
        }
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let file = target + "/" + name + ".swift"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        print("""
        created \(file) (type '\(typeName)', copied from \(source))
        Add one line to the `plugins` list in Package.swift (the product, the ELF record and
        the entry point are derived from it):
          resourceType("\(name)", path: "\(target)"),
        then: swift build && fshost check .build/debug/lib\(typeName).so
        """)
    }

    private func templateSource() -> String? {
        if let template { return template }
        let exe = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent()
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["FSHOST_TEMPLATE"] { candidates.append(env) }
        if let exe {
            // installed: <prefix>/libexec/fshost/fshost-admin → <prefix>/share/fshost
            candidates.append(exe.appendingPathComponent("../../share/fshost/Template.swift").path)
            // build tree: .build/<triple>/<config>/fshost-admin → source root
            candidates.append(exe.appendingPathComponent("../../../Plugins/Template/Template.swift").path)
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }
}
