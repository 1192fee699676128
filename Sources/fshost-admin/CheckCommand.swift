import ArgumentParser
import ELFCheck
import HAVocabulary
import PluginLoading
import PluginRecord

/// `fshost check FILE`: every pre-load check of a plugin file, without
/// loading it.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run every pre-load check on a plugin file (nothing of it is executed).",
        discussion: """
        Prints one line per check. Exits 0 when all pass, else 7 (HA_PLUGIN_REFUSED) \
        with a last line naming the first failed check. For a plugin that calls \
        companions, each <type>-<name>.so beside it is checked too: it must serve one \
        of the calls the plugin's record names (same signature), and every call must \
        be served.
        """)

    @Argument(help: "The plugin shared object, e.g. /usr/lib/fshost/resource_types/webserver.so.")
    var file: String

    @Option(help: "Require this type name in the record (default: the file's name, <type>.so or lib<type>.so, as the host looks it up).")
    var type: String?

    func run() throws {
        let directory = file.contains("/") ? String(file[..<file.lastIndex(of: "/")!]) : "."
        let verifier = PluginVerifier(expectedTypeName: type ?? Self.typeName(ofFile: file), pluginDirectory: directory)
        var (checks, record) = verifier.report(path: file)
        if let record, !checks.contains(where: { !$0.passed }) {
            checks += CompanionMatch.checks(pluginPath: file, record: record)
        }
        let width = checks.map(\.name.count).max() ?? 0
        for check in checks {
            let name = check.name + String(repeating: " ", count: width - check.name.count)
            print("\(check.passed ? "ok  " : "FAIL") \(name)  \(check.detail)")
        }
        if let failed = checks.first(where: { !$0.passed }) {
            throw fail(HostError(.pluginRefused, "\(file): \(failed.name): \(failed.detail)"))
        }
        if let record {
            let what = record.isCompanion ? "companion \(record.typeName) (call \(record.signature))"
                : "type \(record.typeName)" + (record.calls.isEmpty ? "" : " (calls \(record.calls.joined(separator: ", ")))")
            print("\(file): \(what), ABI \(record.abiVersion), Swift \(compilerVersionString(record.compilerVersion)): all checks passed")
        }
    }

    /// The type the host would look this file up as (`<type>.so`,
    /// `lib<type>.so`), so a renamed file fails here as it would at load;
    /// nil for another name (then any record name is accepted).
    static func typeName(ofFile path: String) -> String? {
        var name = String(path.split(separator: "/").last ?? Substring(path))
        guard name.hasSuffix(".so") else { return nil }
        name.removeLast(3)
        if name.hasPrefix("lib") { name.removeFirst(3) }
        return PluginRecord.isValidTypeName(name) ? name : nil
    }
}
