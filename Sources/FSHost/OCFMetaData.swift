import CDB
import HAVocabulary
import PluginLoading

/// The OCF `meta-data` of a type, generated from its plugin descriptor, in
/// the form `ra-api-1.dtd` (resource-agents' copy of the OCF DTD) accepts:
/// `resource-agent(version, longdesc, shortdesc, parameters?, actions)`.
///
/// - parameters: the type's attributes, then `retries` and `retry_interval`
///   (the host's monitor settings; `<action>_timeout` is Pacemaker's op
///   timeout, `monitor_level` its `OCF_CHECK_LEVEL`). Content types: integer
///   and port → `integer`, boolean → `boolean`, duration → `time`, every
///   other kind → `string` (its fshost kind, range and allowed values are
///   in the longdesc). A secret attribute's longdesc says so and it shows no
///   default (the DTD has no attribute for it; fshost never logs its value).
/// - actions: start, stop, validate-all with the type's default timeouts;
///   one monitor per level, `depth` by ``OCFLevels``; notify, meta-data. No
///   reload: no fshost type can change its parameters without a restart.
///   The descriptor (ABI `fshost_level`: number, name, description, cost) has no
///   monitor interval and no per-level timeout, so: every depth gets the
///   type's one monitor timeout (`default_timeout_ms[monitor]`), which bounds
///   the whole monitor run at any depth (the shallower levels and the
///   retries included); the intervals 10 s, 20 s, … are fshost's convention
///   here, not the plugin's (Pacemaker keys operations by name and interval,
///   so they must differ). A type with a slow level says so in its
///   attributes (webserver's `http_timeout`), not in the descriptor.
public enum OCFMetaData {
    public static func xml(_ plugin: LoadedPlugin) -> String {
        let type = plugin.typeName
        var out = """
        <?xml version="1.0"?>
        <!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
        <resource-agent name="\(escape(type))" version="1.0">
        <version>1.0</version>
        <longdesc lang="en">\(escape(plugin.summary)). Run by fshost (ocf:fshost:\(escape(type))): the \
        plugin \(escape(type)) with the parameters as its attributes, checked against its schema. \
        OCF_CHECK_LEVEL selects the monitoring level: \(levelText(plugin)); unset, the resource's \
        monitor_level or the type's default (level \(plugin.defaultLevel)).</longdesc>
        <shortdesc lang="en">\(escape(plugin.summary))</shortdesc>
        <parameters>

        """
        for spec in plugin.attributes { out += parameter(spec) }
        for name in [HostSetting.retries, HostSetting.retryInterval] {
            guard var spec = plugin.schema.spec(name) else { continue }
            spec.defaultValue = name == HostSetting.retries ? String(plugin.defaultRetries)
                : "\(plugin.defaultRetryIntervalMilliseconds)ms"
            out += parameter(spec)
        }
        out += "</parameters>\n<actions>\n"
        func action(_ name: String, _ ms: Int64, _ extra: String = "") {
            out += "<action name=\"\(name)\" timeout=\"\(seconds(ms))\"\(extra)/>\n"
        }
        action("start", plugin.defaultTimeoutMilliseconds(.start))
        action("stop", plugin.defaultTimeoutMilliseconds(.stop))
        // One timeout for every depth (the descriptor has no per-level one); intervals by convention.
        let monitor = plugin.defaultTimeoutMilliseconds(.monitor)
        if plugin.levels.isEmpty {
            action("monitor", monitor, " interval=\"10s\" depth=\"0\"")
        }
        for index in plugin.levels.indices {
            action("monitor", monitor, " interval=\"\((index + 1) * 10)s\" depth=\"\(OCFLevels.depth(index: index))\"")
        }
        action("validate-all", plugin.defaultTimeoutMilliseconds(.validate))
        action("notify", 5000)
        action("meta-data", 5000)
        out += "</actions>\n</resource-agent>\n"
        return out
    }

    static func parameter(_ spec: AttributeSpec) -> String {
        var details = [spec.kind.name]
        if !spec.allowedValues.isEmpty { details.append("one of " + spec.allowedValues.joined(separator: ", ")) }
        if let range = spec.range { details.append("from \(range.lowerBound) to \(range.upperBound)") }
        if spec.required { details.append("required") }
        var long = spec.description + " (" + details.joined(separator: "; ") + ")"
        if spec.isSecret { long += ". Secret: fshost never logs or shows its value" }
        let content: String = switch spec.kind {
        case .integer, .port: "integer"
        case .boolean: "boolean"
        case .duration: "time"
        default: "string"
        }
        let defaultText = spec.isSecret ? "" : spec.defaultValue.map { " default=\"\(escape($0))\"" } ?? ""
        return """
        <parameter name="\(escape(spec.name))" required="\(spec.required ? 1 : 0)" unique="0">
        <longdesc lang="en">\(escape(long))</longdesc>
        <shortdesc lang="en">\(escape(spec.isSecret ? spec.description + " (secret)" : spec.description))</shortdesc>
        <content type="\(content)"\(defaultText)/>
        </parameter>

        """
    }

    static func levelText(_ plugin: LoadedPlugin) -> String {
        plugin.levels.enumerated().map { index, level in
            "\(OCFLevels.depth(index: index)) is level \(level.number) (\(level.name): \(level.description))"
        }.joined(separator: ", ")
    }

    /// `5s`, or `250ms` when not whole seconds.
    static func seconds(_ ms: Int64) -> String { ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms)ms" }

    /// XML text and attribute escaping; control characters dropped (XML 1.0 has none but tab, LF, CR).
    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                if scalar.value < 0x20 && scalar != "\t" && scalar != "\n" { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
