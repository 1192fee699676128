/// The `key=value` words that start every log line of an action, so an
/// operator can grep and cut them (issue 14 item 5):
///
///     fshost: type=webserver resource=web1 action=monitor level=3 msg=probe 1 failed (…); retrying in 500 ms
///     fshost: type=webserver resource=web1 action=monitor level=3 status=HA_CMD_FAILED ms=12 reason=GET http://…: …
///
/// `level` is the monitoring level of a monitor, `-` for other actions.
/// A value that holds a space, `"`, `=` or `\`, or is empty, is written in
/// double quotes with `"` and `\` escaped; free text (`msg=`, `reason=`)
/// comes last, unquoted, to the end of the line.
public enum LogFields {
    /// `key=value`, the value quoted when needed (see the type's comment).
    public static func field(_ key: String, _ value: String) -> String {
        key + "=" + quoted(value)
    }

    /// `value`, or `"value"` with `"` and `\` escaped when it is empty or
    /// holds a space, a tab, `"`, `=` or `\`.
    public static func quoted(_ value: String) -> String {
        let plain = !value.isEmpty && !value.utf8.contains {
            $0 == 0x20 || $0 == 0x09 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\\")
        }
        if plain { return value }
        var out = "\""
        for c in value {
            if c == "\"" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out + "\""
    }

    /// `type=T resource=R action=A level=L` (`level=-` without a level).
    public static func action(type: String, resource: String, action: String, level: UInt32?) -> String {
        // Concatenated, not `joined(separator:)`: on every action this is
        // the first call of that generic, whose witness lookup cost ~40 µs
        // in a fresh process (perf, issue 16).
        field("type", type) + " " + field("resource", resource) + " " + field("action", action)
            + " level=" + (level.map(String.init) ?? "-")
    }
}
