import CSystemShims
import HAVocabulary
#if canImport(Glibc)
import Glibc
#endif

/// A POSIX extended regular expression (`regcomp(3)` with `REG_EXTENDED |
/// REG_NEWLINE`, glibc's), matched against the lines of a log.
///
/// - **Bytes, C locale**: the SDK never calls `setlocale`, so a pattern
///   matches bytes (`.` is one byte); a log in UTF-8 matches its literal
///   UTF-8 text. `grep -E` in `LC_ALL=C` reads a pattern the same way.
/// - **Lines**: a match never spans a line end (`^`/`$` match at line ends;
///   a match that a bracket like `[[:space:]]` stretched over a newline is
///   retried line by line).
/// - **Cost**: compiling is microseconds (measured with `make bench`, see
///   README "logwriter"). A pattern every match of which holds one of a
///   few literals (``RegexSyntax/requiredLiterals(_:)``: `ERROR|FATAL`,
///   `heartbeat ok`) is looked for with `memchr` on its rarest byte
///   (``LiteralSearch``: 11 µs per MiB of log where `memmem` takes 180), and
///   `regexec` runs only on the lines holding one; any other pattern gets
///   one `regexec` over a whole piece of lines (`REG_STARTEND`, so a NUL
///   byte in a log is just a byte), not one call per line. The same lines
///   match either way.
///
/// Why not Swift `Regex`: it is Unicode-aware per character (several times
/// slower on bytes) and loads the string-processing runtime on the monitor
/// path; POSIX ERE is the dialect `grep -E` users already write.
public final class LinePattern {
    /// The pattern as given.
    public let text: String
    private let compiled: UnsafeMutablePointer<regex_t>
    /// ``RegexSyntax/requiredLiterals(_:)`` of the pattern: a line holding
    /// none of them cannot match.
    public let literals: [[UInt8]]?
    /// How each of ``literals`` is looked for (``LiteralSearch``).
    let searches: [LiteralSearch]?

    /// Why a pattern does not compile: `regerror(3)`'s message and where,
    /// as well as glibc lets one tell.
    public struct CompileError: Error, Sendable, CustomStringConvertible {
        /// The pattern's text as given.
        public let pattern: String
        /// `regerror`'s text ("Unmatched ( or \\(").
        public let message: String
        /// Byte offset from which the pattern fails: the longest prefix
        /// that compiles, when every longer one fails (glibc reports no
        /// position itself); nil when no prefix tells.
        public let offset: Int?

        /// `Unmatched ( or \( at byte 3: 'ab(' ⟶ '(c'`, escaped, one line.
        public var description: String {
            let shown = LogText.escaped(pattern, limit: 200)
            guard let offset else { return "'\(shown)': \(message)" }
            let bytes = Array(pattern.utf8)
            let before = LogText.escaped(String(decoding: bytes[..<offset], as: UTF8.self), limit: 80)
            let after = LogText.escaped(String(decoding: bytes[offset...], as: UTF8.self), limit: 80)
            return "'\(shown)': \(message) at byte \(offset) (valid up to '\(before)', fails from '\(after)')"
        }
    }

    /// The longest pattern accepted, in bytes: glibc's compile time and
    /// memory grow with it, and a monitor compiles it on every call.
    public static let maximumLength = RegexSyntax.maximumLength

    /// Compiles `pattern`; an empty pattern, one with a newline or a NUL,
    /// or a longer one than ``maximumLength`` is refused too.
    public init(_ pattern: String) throws(CompileError) {
        text = pattern
        if pattern.isEmpty { throw CompileError(pattern: pattern, message: "empty pattern (it would match every line)", offset: nil) }
        if let at = Array(pattern.utf8).firstIndex(where: { $0 == 0x0A || $0 == 0 }) {
            throw CompileError(pattern: pattern, message: "a pattern is one line: newline or NUL", offset: at)
        }
        if pattern.utf8.count > Self.maximumLength {
            throw CompileError(pattern: pattern, message: "longer than \(Self.maximumLength) bytes", offset: nil)
        }
        if let at = Self.backReference(Array(pattern.utf8)) {
            throw CompileError(pattern: pattern, message: RegexSyntax.backReferenceMessage, offset: at)
        }
        literals = RegexSyntax.requiredLiterals(Array(pattern.utf8))
        searches = literals?.map(LiteralSearch.init)
        // Stored only once compiled: a throw after every property is set would run deinit (regfree).
        let regex = UnsafeMutablePointer<regex_t>.allocate(capacity: 1)
        let rc = regcomp(regex, pattern, REG_EXTENDED | REG_NEWLINE)
        guard rc == 0 else {
            let message = Self.errorText(rc, regex)
            regex.deallocate()
            throw CompileError(pattern: pattern, message: message, offset: Self.failingOffset(pattern))
        }
        compiled = regex
    }

    /// ``RegexSyntax/backReference(_:)``: the host's rule, one for both.
    static func backReference(_ bytes: [UInt8]) -> Int? { RegexSyntax.backReference(bytes) }

    deinit {
        regfree(compiled)
        compiled.deallocate()
    }

    /// `regerror`'s text for `code`.
    static func errorText(_ code: Int32, _ regex: UnsafeMutablePointer<regex_t>) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        regerror(code, regex, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// ``RegexSyntax/failingOffset(_:)``: where the error begins.
    static func failingOffset(_ pattern: String) -> Int? { RegexSyntax.failingOffset(pattern) }

    /// The byte range of the first line of `bytes[range]` that matches
    /// (without its newline), or nil. `range` starts at a line start.
    public func firstMatchingLine(in bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Range<Int>? {
        guard !range.isEmpty, let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self) else { return nil }
        var from = range.lowerBound
        while from < range.upperBound {
            // One regexec over the rest of the buffer (regoff_t is 32 bits:
            // callers keep buffers well below 2 GiB).
            var match = regmatch_t(rm_so: regoff_t(0), rm_eo: regoff_t(range.upperBound - from))
            guard regexec(compiled, base + from, 1, &match, REG_STARTEND) == 0 else { return nil }
            let start = from + Int(match.rm_so), end = from + Int(match.rm_eo)
            let line = lineAround(bytes, start, range)
            if end <= line.upperBound { return line }
            // Stretched over a line end: this line alone, then go on after it.
            var single = regmatch_t(rm_so: 0, rm_eo: regoff_t(line.count))
            if regexec(compiled, base + line.lowerBound, 1, &single, REG_STARTEND) == 0 { return line }
            from = line.upperBound + 1
        }
        return nil
    }

    /// The answer of a bounded scan (``scan(_:deadline:)``).
    public enum Scan: Sendable, Equatable {
        /// The first matching line (without its newline).
        case matched(Range<Int>)
        case none
        /// The deadline passed with lines still unjudged; the bytes before
        /// `judged` were judged (no match there).
        case outOfTime(judged: Int)
    }

    /// The longest line matched whole, in bytes (4 KiB): of a longer line
    /// only this much, its head, is matched. glibc's `regexec` is
    /// superlinear in a line's length for an ambiguous pattern even
    /// without back-references (measured, one line of `a`s: `(a|aa)*x`
    /// 1.5 ms at 1 KiB, 127 ms at 4 KiB, 1.3 s at 8 KiB, 12.5 s at 64 KiB),
    /// and one call cannot be interrupted: the writer, not the pattern's
    /// author, chooses a line's length.
    public static let longestLine = 4 << 10

    /// The most bytes one `regexec` call is given (16 KiB of whole lines):
    /// the clock is read between calls.
    public static let pieceLength = 16 << 10

    /// The first matching line of `bytes` (complete lines), matched in
    /// pieces of whole lines of at most ``pieceLength`` bytes with the
    /// clock (``LogGrowth/now()``, ms) read between pieces: past
    /// `deadline` the scan stops and says how far it judged.
    public func scan(_ bytes: [UInt8], deadline: Int64) -> Scan {
        bytes.withUnsafeBytes { scan($0, deadline: deadline) }
    }

    /// ``scan(_:deadline:)`` of bytes in place (a block of a
    /// ``LogFollower/scanNew(since:bufferSize:_:)``): no copy.
    public func scan(_ bytes: UnsafeRawBufferPointer, deadline: Int64) -> Scan {
        if let searches { return scan(bytes, literals: searches, deadline: deadline) }
        return scanInPieces(bytes, deadline: deadline)
    }

    /// ``scan(_:deadline:)`` without the literal search: `regexec` over
    /// pieces of whole lines. Any pattern; the answer of the literal
    /// search for one that has literals (tested against each other).
    func scanInPieces(_ bytes: [UInt8], deadline: Int64) -> Scan {
        bytes.withUnsafeBytes { scanInPieces($0, deadline: deadline) }
    }

    func scanInPieces(_ raw: UnsafeRawBufferPointer, deadline: Int64) -> Scan {
        do {
            let count = raw.count
            guard let base = raw.baseAddress else { return .none }
            /// The index of the newline ending the line at `from`, or `count`.
            func lineEnd(_ from: Int) -> Int {
                guard from < count, let hit = memchr(base + from, 0x0A, count - from) else { return count }
                return hit - UnsafeMutableRawPointer(mutating: base)
            }
            var start = 0
            while start < count {
                if LogGrowth.now() > deadline { return .outOfTime(judged: start) }
                var end = start
                var longLine = false
                while end < count {
                    let newline = lineEnd(end)
                    if newline - end > Self.longestLine {
                        if end > start { break }   // the lines before it first
                        // A long line alone: its head only, shown whole.
                        longLine = true
                        if firstMatchingLine(in: raw, start..<start + Self.longestLine) != nil {
                            return .matched(start..<newline)
                        }
                        end = min(newline + 1, count)
                        break
                    }
                    let next = min(newline + 1, count)
                    if next - start > Self.pieceLength && end > start { break }
                    end = next
                }
                if !longLine, let line = firstMatchingLine(in: raw, start..<end) { return .matched(line) }
                start = end
            }
            return .none
        }
    }

    /// How far one literal search goes before the clock is read again (1 MiB).
    static let literalWindow = 1 << 20

    /// ``scan(_:deadline:)`` for a pattern with required literals: the
    /// earliest occurrence of any literal names a candidate line, whose
    /// head (``longestLine``) alone is given to `regexec`; lines without
    /// one are never matched. Each literal's next occurrence is kept, so
    /// every byte is searched once per literal. The clock is read before
    /// each candidate and each window of ``literalWindow`` bytes.
    func scan(_ raw: UnsafeRawBufferPointer, literals: [LiteralSearch], deadline: Int64) -> Scan {
        do {
            let count = raw.count
            guard let base = raw.baseAddress else { return .none }
            var literals = literals
            // Per literal: its next occurrence (≥ the scan's position), or -1
            // with `clear`: no occurrence starts before that index.
            var next = [Int](repeating: -1, count: literals.count)
            var clear = [Int](repeating: 0, count: literals.count)
            /// The first occurrence of literal `k` starting in `from..<end`, or nil.
            func occurrence(_ k: Int, from: Int, end: Int) -> Int? {
                if next[k] >= from { return next[k] < end ? next[k] : nil }
                let start = max(from, clear[k])
                guard start < end else { return nil }
                let limit = min(count, end + literals[k].literal.count - 1)
                guard let hit = literals[k].first(in: base, from: start, limit: limit) else {
                    next[k] = -1; clear[k] = end; return nil
                }
                next[k] = hit
                return hit
            }
            var from = 0
            while from < count {
                if LogGrowth.now() > deadline { return .outOfTime(judged: from) }
                let end = min(count, from + Self.literalWindow)
                var first: Int?
                for k in literals.indices {
                    if let at = occurrence(k, from: from, end: end), first.map({ at < $0 }) ?? true { first = at }
                }
                guard let at = first else { from = end; continue }
                // The line around it (from may be mid-line after a window: that line is unjudged).
                var start = at
                while start > 0 && raw[start - 1] != 0x0A { start -= 1 }
                let stop = memchr(base + at, 0x0A, count - at).map { $0 - UnsafeMutableRawPointer(mutating: base) } ?? count
                var match = regmatch_t(rm_so: 0, rm_eo: regoff_t(min(stop - start, Self.longestLine)))
                if regexec(compiled, base.assumingMemoryBound(to: CChar.self) + start, 1, &match, REG_STARTEND) == 0 {
                    return .matched(start..<stop)
                }
                from = stop + 1
            }
            return .none
        }
    }

    /// ``firstMatchingLine(in:_:)`` of an array.
    public func firstMatchingLine(in bytes: [UInt8]) -> Range<Int>? {
        bytes.withUnsafeBytes { firstMatchingLine(in: $0, 0..<bytes.count) }
    }

    private func lineAround(_ bytes: UnsafeRawBufferPointer, _ at: Int, _ range: Range<Int>) -> Range<Int> {
        var start = min(at, range.upperBound), end = min(at, range.upperBound)
        while start > range.lowerBound && bytes[start - 1] != 0x0A { start -= 1 }
        while end < range.upperBound && bytes[end] != 0x0A { end += 1 }
        return start..<end
    }
}
