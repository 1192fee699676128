import ArgumentParser
import CDB
import HAVocabulary
import PluginLoading

/// `fshost describe TYPE`: attributes, levels and defaults of a type.
struct DescribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Describe a resource type: its attributes, monitoring levels and defaults.")

    @Argument(help: "The resource type, e.g. webserver.")
    var type: String

    func run() throws {
        let plugin: LoadedPlugin
        do { plugin = try BoundedPluginLoad.load(type: type, searchPath: .fromEnvironment()) } catch { throw fail(error) }
        print("\(plugin.typeName): \(plugin.summary)")
        print("plugin: \(plugin.path) (ABI \(plugin.record.abiVersion))")
        if !plugin.record.calls.isEmpty {
            print("companion calls: \(plugin.record.calls.joined(separator: ", ")) (fshost check \(plugin.path) matches them)")
        }
        print("\nMONITORING LEVELS (deeper levels include shallower ones; default \(plugin.defaultLevel))")
        for level in plugin.levels {
            print("  \(level.number)  \(level.name): \(level.description) [cost: \(level.cost)]")
        }
        print("\nATTRIBUTES")
        for spec in plugin.attributes { print("  " + line(spec)) }
        print("\nHOST SETTINGS (every type)")
        for spec in HostSetting.specs(levels: plugin.levels.map(\.number)) {
            print("  " + line(spec, default: hostDefault(spec.name, plugin)))
        }
        print("\nACTIONS")
        for action in ActionName.allCases {
            let who = plugin.implements(action) ? "plugin" : fallback(action)
            print("  \(action.rawValue): \(who), timeout \(plugin.defaultTimeoutMilliseconds(action)) ms")
        }
    }

    private func line(_ spec: AttributeSpec, default given: String? = nil) -> String {
        let required = (spec.required ? ", required" : "") + (spec.isMonitorOnly ? ", monitor-only" : "")
        let value = (given ?? spec.defaultValue).map { ", default \(spec.isSecret ? "(secret)" : $0.isEmpty ? "\"\"" : $0)" } ?? ""
        let constraints = AttributeConstraints.summary(spec)
        return "\(spec.name) (\(spec.kind.name)\(required)\(value)\(constraints.isEmpty ? "" : "; " + constraints)): \(spec.description)"
    }

    private func hostDefault(_ name: String, _ plugin: LoadedPlugin) -> String? {
        switch name {
        case HostSetting.monitorLevel: return String(plugin.defaultLevel)
        case HostSetting.retries: return String(plugin.defaultRetries)
        case HostSetting.retryInterval: return "\(plugin.defaultRetryIntervalMilliseconds)ms"
        default:
            guard let action = ActionName.allCases.first(where: { HostSetting.timeout($0.rawValue) == name }) else { return nil }
            return "\(plugin.defaultTimeoutMilliseconds(action))ms"
        }
    }

    private func fallback(_ action: ActionName) -> String {
        switch action {
        case .restart: "host (stop, then start)"
        case .exclusive: "host (lowest monitoring level)"
        case .validate: "host (schema checks only)"
        default: "missing"
        }
    }
}
