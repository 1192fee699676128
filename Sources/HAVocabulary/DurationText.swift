/// The one duration grammar of fshost: duration attributes in the CDB and
/// in TOML files, `fshost … --timeout`, and `fshost exec2`'s TIMEOUT and
/// WAITPERIOD all read durations with ``milliseconds(_:)``.
///
/// ```
/// duration = number [ "ms" | "s" | "m" | "h" ]
/// number   = digits [ "." digits ]
/// ```
///
/// A bare number means **seconds**, as in FailSafe's scripts (`ha_exec2 30
/// …`) and Pacemaker's operation timeouts; `0.5` is 500 ms. The value must
/// be a whole number of milliseconds (`1.5ms` is refused) and at most
/// ``maximumMilliseconds`` (24 h): no time-limited action of a cluster
/// resource needs longer, so a larger value is a typo, and 24 h in
/// milliseconds fits an `Int32` (what `poll(2)` takes), so no caller's
/// arithmetic can overflow.
///
/// The canonical text the CDB stores is `<n>ms` (``canonical(_:)``): it
/// always carries its unit. Every fshost that wrote the CDB stored that
/// form, so a bare number can only be in a CDB that was edited by hand
/// with `sqlite3`; it reads as seconds.
public enum DurationText {
    /// 24 h in milliseconds: the largest duration fshost accepts anywhere.
    public static let maximumMilliseconds: Int64 = 24 * 3_600_000

    /// The grammar in a few words, for messages and `--help`.
    public static let grammar = "250ms, 5s, 2m, 1h; a bare number is seconds"

    /// Why a text is not a duration.
    public enum Problem: Error, Equatable, Sendable {
        /// Not of the grammar (empty, a sign, another unit, spaces…).
        case malformed
        /// Finer than a millisecond (`1.5ms`, `0.0001`).
        case finerThanMilliseconds
        /// More than ``DurationText/maximumMilliseconds``.
        case tooLarge
    }

    /// The milliseconds `text` stands for, or why it is not a duration.
    /// Never overflows: digits beyond what 24 h needs are ``Problem/tooLarge``.
    public static func milliseconds(_ text: String) -> Result<Int64, Problem> {
        if let ms = wholeUnits(text) { return .success(ms) }
        var body = Substring(text)
        // Milliseconds per unit; "ms" is tested before "s" and "m".
        var scale: Int64 = 1000
        for (suffix, unitScale) in [("ms", Int64(1)), ("s", 1000), ("m", 60_000), ("h", 3_600_000)] where body.hasSuffix(suffix) {
            body = body.dropLast(suffix.count)
            scale = unitScale
            break
        }
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, isDigits(whole), parts.count == 1 || isDigits(parts[1]) else {
            return .failure(.malformed)
        }
        // Leading zeros aside, more than 12 digits exceed 24 h in any unit.
        let wholeDigits = whole.drop { $0 == "0" }
        guard wholeDigits.utf8.count <= 12, let units = Int64(wholeDigits.isEmpty ? "0" : wholeDigits) else {
            return .failure(.tooLarge)
        }
        let (product, overflow) = units.multipliedReportingOverflow(by: scale)
        guard !overflow, product <= maximumMilliseconds else { return .failure(.tooLarge) }
        var total = product
        if parts.count == 2 {
            // fraction × scale must be a whole number of milliseconds:
            // scale ≤ 3.6e6, so at most 7 significant fraction digits matter.
            let fraction = parts[1].reversed().drop { $0 == "0" }.reversed()
            guard fraction.count <= 7, let digits = Int64(fraction.isEmpty ? "0" : String(fraction)) else {
                return .failure(.finerThanMilliseconds)
            }
            var divisor: Int64 = 1
            for _ in 0..<fraction.count { divisor *= 10 }
            let scaled = digits * scale  // < 1e7 × 3.6e6: no overflow
            guard scaled % divisor == 0 else { return .failure(.finerThanMilliseconds) }
            total += scaled / divisor
        }
        guard total <= maximumMilliseconds else { return .failure(.tooLarge) }
        return .success(total)
    }

    /// The canonical text of a duration: `<n>ms`.
    public static func canonical(_ milliseconds: Int64) -> String { "\(milliseconds)ms" }

    /// A duration for people: the largest unit that is exact (`24h`, `5s`,
    /// `100ms`, `1500ms`).
    public static func readable(_ milliseconds: Int64) -> String {
        for (suffix, scale) in [("h", Int64(3_600_000)), ("m", 60_000), ("s", 1000)]
        where milliseconds >= scale && milliseconds % scale == 0 {
            return "\(milliseconds / scale)\(suffix)"
        }
        return "\(milliseconds)ms"
    }

    /// The one-line reason `text` was refused, for a message that names the
    /// attribute or option first (`… is not a duration …`).
    public static func explain(_ problem: Problem, _ text: String, range: ClosedRange<Int64>? = nil) -> String {
        let allowed = range.map { "from \(readable($0.lowerBound)) to \(readable($0.upperBound))" }
            ?? "at most \(readable(maximumMilliseconds))"
        switch problem {
        case .malformed: return "is not a duration (\(grammar)): '\(text)'"
        case .finerThanMilliseconds: return "is finer than a millisecond: '\(text)'"
        case .tooLarge: return "is out of range: '\(text)' (allowed: \(allowed))"
        }
    }

    /// The same answer for the common case — 1 to 12 digits and a unit or
    /// none (`5000ms`, the canonical form every action reads; `5s`) —
    /// read over the bytes: the general path's `Substring` splitting costs
    /// tens of µs on its first use in a fresh process, once per duration
    /// attribute. Nil when the text is anything else (a fraction, more
    /// digits, over 24 h): the general path answers.
    private static func wholeUnits(_ text: String) -> Int64? {
        var units: Int64 = 0, digits = 0, scale: Int64 = 1000, unit = 0
        for c in text.utf8 {
            if unit == 0 && c >= 0x30 && c <= 0x39 {
                guard digits < 12 else { return nil }
                units = units * 10 + Int64(c - 0x30)
                digits += 1
                continue
            }
            // The unit: at most two bytes after the digits ("ms" before "m").
            switch (unit, c) {
            case (0, UInt8(ascii: "s")): scale = 1000
            case (0, UInt8(ascii: "m")): scale = 60_000
            case (0, UInt8(ascii: "h")): scale = 3_600_000
            case (1, UInt8(ascii: "s")) where scale == 60_000: scale = 1
            default: return nil
            }
            unit += 1
        }
        // 12 digits × 3.6e6 < Int64.max: no overflow.
        guard digits > 0, units * scale <= maximumMilliseconds else { return nil }
        return units * scale
    }

    private static func isDigits(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}
