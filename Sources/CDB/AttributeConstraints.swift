import HAVocabulary
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The checks of a value beyond its kind's grammar: one of a set of values,
/// a whole match of a pattern, none of a set of refused words, a minimum
/// and a maximum (integer, port, duration; a string's length
/// without white space at either end; a user's uid where the value says it:
/// `root`, a number), a numeric IP address, a user name. ``AttributeSchema/resolve(_:)`` and every `cdb` write run
/// them, so the host refuses a value before anything runs and a plugin
/// checks none of it itself.
///
/// A violation names the attribute and what is allowed; the value itself
/// is left out of the message for a secret (``AttributeSpec/isSecret``).
public enum AttributeConstraints {
    /// The canonical text of `text` for `spec`: its kind's grammar, then
    /// its allowed values, pattern, refused values, minimum and maximum.
    public static func check(_ text: String, against spec: AttributeSpec) -> Result<String, AttributeValueError> {
        let shown = spec.isSecret ? "" : ": '\(text)'"
        let canonical: String
        switch spec.canonicalize(text) {
        case .success(let value): canonical = value
        case .failure(let error):
            return .failure(spec.isSecret ? AttributeValueError("is not a valid \(spec.kind.name) (value not shown: secret)") : error)
        }
        if !spec.allowedValues.isEmpty && !spec.allowedValues.contains(canonical) {
            let what = spec.name == HostSetting.monitorLevel ? "one of the type's monitoring levels" : "one of"
            return .failure(AttributeValueError("must be \(what) \(spec.allowedValues.joined(separator: ", "))\(shown)"))
        }
        if let pattern = spec.pattern {
            switch AttributePattern.wholeMatch(canonical, pattern) {
            case nil:
                return .failure(AttributeValueError("cannot be checked: the type's pattern '\(pattern)' does not compile (POSIX ERE; the plugin's error)"))
            case false?:
                return .failure(AttributeValueError("must be \(spec.patternDescription ?? "a whole match of the POSIX ERE '\(pattern)'")\(shown)"))
            case true?: break
            }
        }
        if spec.refusedValues.contains(canonical) {
            return .failure(AttributeValueError("must be \(spec.patternDescription ?? "none of the type's refused words")\(shown): "
                                                + "one of the \(spec.refusedValues.count) words refused there (fshost describe lists them)"))
        }
        if spec.isRegex, let why = RegexSyntax.problem(canonical) {
            return .failure(AttributeValueError("is not an accepted regular expression (POSIX ERE)\(shown): \(why)"))
        }
        switch spec.kind {
        case .string:
            // A string's range bounds its length in bytes, white space at
            // either end left out: `minimum` 1 is "not empty or blank".
            let length = Int64(trimmedLength(canonical))
            if spec.minimum.map({ length < $0 }) == true || spec.maximum.map({ length > $0 }) == true {
                return .failure(AttributeValueError("is \(length == 0 ? "empty" : "\(length) bytes long")\(shown) "
                                                    + "(allowed: \(rangeText(spec)))"))
            }
            return .success(canonical)
        case .user:
            // A user's range bounds its uid where the value itself says it
            // (root is uid 0 on every node; a number is a uid); other names
            // are looked up by the plugin when an action runs — no
            // directory service here, on every action's path.
            let uid: Int64? = canonical == "root" ? 0 : Int64(canonical)
            if let uid, spec.minimum.map({ uid < $0 }) == true || spec.maximum.map({ uid > $0 }) == true {
                return .failure(AttributeValueError("is uid \(uid)\(shown) (allowed: \(rangeText(spec)))"))
            }
            return .success(canonical)
        default: break
        }
        guard let number = magnitude(canonical, kind: spec.kind) else { return .success(canonical) }
        if spec.minimum.map({ number < $0 }) == true || spec.maximum.map({ number > $0 }) == true {
            return .failure(AttributeValueError("is out of range\(shown) (allowed: \(rangeText(spec)))"))
        }
        return .success(canonical)
    }

    /// What a range allows, for messages and `fshost describe`, in the
    /// words of the host settings' bounds (``DurationText/explain(_:_:range:)``):
    /// `from 1 to 3`, `at least 1ms`, `at most 1h`.
    public static func rangeText(_ spec: AttributeSpec) -> String {
        switch (spec.minimum, spec.maximum) {
        case (let low?, let high?): return "from \(unit(low, spec.kind)) to \(unit(high, spec.kind))"
        case (let low?, nil): return "at least \(unit(low, spec.kind))"
        case (nil, let high?): return "at most \(unit(high, spec.kind))"
        case (nil, nil): return ""
        }
    }

    /// The constraints of `spec` in one line for `fshost describe` (empty
    /// when it has none): `one of: curl, builtin`, `between 1 and 3`, `secret`.
    public static func summary(_ spec: AttributeSpec) -> String {
        var parts: [String] = []
        if !spec.allowedValues.isEmpty { parts.append("one of: " + spec.allowedValues.joined(separator: ", ")) }
        let range = rangeText(spec)
        if !range.isEmpty { parts.append(range) }
        if spec.isSecret { parts.append("secret") }
        if spec.isRegex { parts.append("a POSIX extended regular expression, no back-references") }
        if let pattern = spec.pattern { parts.append(spec.patternDescription ?? "matching the POSIX ERE '\(pattern)'") }
        if !spec.refusedValues.isEmpty { parts.append("not one of: " + spec.refusedValues.joined(separator: ", ")) }
        return parts.joined(separator: "; ")
    }

    private static func unit(_ value: Int64, _ kind: AttributeKind) -> String {
        switch kind {
        case .duration: return DurationText.readable(value)
        case .string: return "\(value) byte\(value == 1 ? "" : "s") (white space at either end left out)"
        case .user: return "uid \(value)"
        default: return String(value)
        }
    }

    /// Bytes of `text` without the white space at either end.
    private static func trimmedLength(_ text: String) -> Int {
        let bytes = Array(text.utf8)
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return 0
        }
        return last - first + 1
    }

    /// The number a range compares: integers and ports as they are,
    /// durations in milliseconds; nil for other kinds.
    private static func magnitude(_ canonical: String, kind: AttributeKind) -> Int64? {
        switch kind {
        case .integer, .port: return Int64(canonical)
        case .duration: return AttributeKind.milliseconds(canonical)
        default: return nil
        }
    }

    // MARK: - Kinds checked here

    /// The canonical text of an IP address or a user name.
    static func canonicalize(_ text: String, kind: AttributeKind) -> Result<String, AttributeValueError> {
        switch kind {
        case .ipAddress:
            guard let canonical = numericAddress(text) else {
                return .failure(.init("is not a numeric IPv4 or IPv6 address (no host names): '\(text)'"))
            }
            return .success(canonical)
        case .user:
            guard isPortableUserName(text) else {
                return .failure(.init("is not a user name (1-32 of A-Z a-z 0-9 . _ -, not starting with '-'): '\(text)'"))
            }
            return .success(text)
        default:
            return kind.canonicalize(text)
        }
    }

    /// `inet_ntop`'s text of a numeric address (`::0:1` → `::1`), keeping
    /// an IPv6 `%zone` (an interface index or an existing interface); nil
    /// for anything else, host names included (no resolver is asked).
    public static func numericAddress(_ text: String) -> String? {
        guard !text.isEmpty, text.utf8.count < 64 else { return nil }
        var address = Substring(text), zone: Substring? = nil
        if let percent = text.firstIndex(of: "%") {
            address = text[..<percent]
            zone = text[text.index(after: percent)...]
            guard let zone, !zone.isEmpty, UInt32(zone) != nil || if_nametoindex(String(zone)) != 0 else { return nil }
        }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        var v4 = in_addr()
        if zone == nil, inet_pton(AF_INET, String(address), &v4) == 1 {
            guard inet_ntop(AF_INET, &v4, &buffer, socklen_t(buffer.count)) != nil else { return nil }
            return String(cString: buffer)
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, String(address), &v6) == 1,
              inet_ntop(AF_INET6, &v6, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return String(cString: buffer) + (zone.map { "%" + $0 } ?? "")
    }

    /// POSIX's portable user name: characters of the portable filename
    /// character set (`A-Z a-z 0-9 . _ -`), not starting with `-` (POSIX.1-2017
    /// XBD 3.437 and 3.282), at most 32 bytes (useradd's limit).
    public static func isPortableUserName(_ text: String) -> Bool {
        guard let first = text.utf8.first, first != UInt8(ascii: "-"), text.utf8.count <= 32 else { return false }
        return text.utf8.allSatisfy { c in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
        }
    }
}

extension HostSetting {
    /// ``specs`` with `monitor_level` allowed only the type's `levels`.
    public static func specs(levels: [UInt32]) -> [AttributeSpec] {
        specs.map { spec in
            var spec = spec
            if spec.name == monitorLevel {
                // The type's levels say it all (they lie within the ABI's range).
                spec.allowedValues = levels.sorted().map(String.init)
                spec.range = nil
            }
            return spec
        }
    }
}
