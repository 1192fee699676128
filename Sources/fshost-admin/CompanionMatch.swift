import ELFCheck
import Foundation
import PluginRecord

/// `fshost check PLUGIN`'s look at the companions beside a plugin, before
/// anything is loaded: each `<type>-<name>.so` (or `lib…`) must pass the
/// pre-load checks as a companion, serve one of the calls the plugin's
/// record names, and every call must be served. A stale companion (built
/// from another declaration of the call) is named with both signatures.
enum CompanionMatch {
    static func checks(pluginPath: String, record: PluginRecord) -> [PluginFileCheck] {
        guard !record.isCompanion, !record.calls.isEmpty else { return [] }
        let directory = (pluginPath as NSString).deletingLastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
        let companions = names.filter { name in
            name.hasSuffix(".so") && (name.hasPrefix(record.typeName + "-") || name.hasPrefix("lib" + record.typeName + "-"))
        }.sorted()
        var served: Set<String> = []
        var results: [PluginFileCheck] = []
        for name in companions {
            let path = (directory.isEmpty ? "." : directory) + "/" + name
            let (checks, companion) = PluginVerifier(expectedTypeName: nil, pluginDirectory: directory.isEmpty ? "." : directory)
                .report(path: path)
            if let failed = checks.first(where: { !$0.passed }) {
                results.append(PluginFileCheck(name: "companion", passed: false, detail: "\(name): \(failed.name): \(failed.detail)"))
                continue
            }
            guard let companion, companion.isCompanion else {
                results.append(PluginFileCheck(name: "companion", passed: false, detail: "\(name): its record is not a companion's"))
                continue
            }
            guard record.calls.contains(companion.signature) else {
                results.append(PluginFileCheck(name: "companion", passed: false,
                    detail: "\(name) answers call \(companion.signature), the plugin asks for \(record.calls.joined(separator: " or "))"))
                continue
            }
            served.insert(companion.signature)
            results.append(PluginFileCheck(name: "companion", passed: true, detail: "\(name): call \(companion.signature)"))
        }
        for call in record.calls where !served.contains(call) {
            results.append(PluginFileCheck(name: "companion", passed: false,
                                           detail: "no companion beside the plugin serves call \(call)"))
        }
        return results
    }
}
