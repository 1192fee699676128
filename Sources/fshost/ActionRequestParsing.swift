import CDB
import FSHost
import HAVocabulary

/// The action's command line, read into the runtime's ``ActionRequest``.
extension ActionRequest {
    /// Parses the words after `fshost`.
    static func parse(_ words: [String]) throws(HostError) -> ActionRequest {
        var positional: [String] = []
        var level: UInt32?
        var timeout: Int64?
        var retries: UInt32?
        var json = false
        var i = 0
        func value(_ option: String) throws(HostError) -> String {
            i += 1
            guard i < words.count else { throw HostError(.invalidArguments, "option \(option) needs a value") }
            return words[i]
        }
        while i < words.count {
            let word = words[i]
            switch word {
            case "--level":
                let text = try value(word)
                guard let n = UInt32(text) else { throw HostError(.invalidArguments, "--level takes a number, not '\(text)'") }
                level = n
            case "--timeout":
                // The one duration grammar (a bare number is seconds, as
                // for exec2 and Pacemaker) and the range of <action>_timeout.
                let text = try value(word)
                let range = HostSetting.timeoutRange
                switch DurationText.milliseconds(text) {
                case .success(let ms) where range.contains(ms):
                    timeout = ms
                case .success:
                    throw HostError(.invalidArguments, "--timeout " + DurationText.explain(.tooLarge, text, range: range))
                case .failure(let problem):
                    throw HostError(.invalidArguments, "--timeout " + DurationText.explain(problem, text, range: range))
                }
            case "--retries":
                // The bound of the resource's `retries` setting.
                let text = try value(word)
                guard let n = Int64(text), HostSetting.retriesRange.contains(n) else {
                    throw HostError(.invalidArguments, "--retries takes a number from \(HostSetting.retriesRange.lowerBound) to \(HostSetting.retriesRange.upperBound), not '\(text)'")
                }
                retries = UInt32(n)
            case "--json":
                json = true
            default:
                if word.hasPrefix("--") { throw HostError(.invalidArguments, "unknown option \(word)") }
                positional.append(word)
            }
            i += 1
        }
        guard positional.count == 3 else {
            throw HostError(.invalidArguments, positional.count < 3
                ? "usage: fshost <type> <action> <resource> [--level N] [--timeout DURATION] [--retries N] [--json]"
                : "unexpected argument '\(positional[3])'")
        }
        guard let action = ActionName(rawValue: positional[1]) else {
            throw HostError(.invalidArguments, "unknown action '\(positional[1])' (actions: \(ActionName.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard Names.isValidResource(positional[2]) else {
            throw HostError(.invalidArguments, "invalid resource name '\(positional[2])' (1-64 of A-Z a-z 0-9 _ . -, not . or ..)")
        }
        var request = ActionRequest(type: positional[0], action: action, resource: positional[2], level: level,
                                    timeoutMilliseconds: timeout, json: json)
        request.retries = retries
        return request
    }
}
