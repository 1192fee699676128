import CSystemShims
#if canImport(Glibc)
import Glibc
#endif

/// One literal (a run of bytes every match of a pattern holds, see
/// ``RegexSyntax/requiredLiterals(_:)``) looked for in a log's bytes with
/// `memchr` on its rarest byte, each hit checked with `memcmp`.
///
/// Why: glibc's `memchr` is vectorised (measured on the bench VM, 1 MiB of
/// log lines: 11 µs for a byte that is not there) where its `memmem` is
/// not (180 µs for `ERROR`): a level-3 check looks for every literal of
/// the error pattern in every new byte. The rarest byte is guessed from a
/// fixed ranking of what logs are made of (``commonness(_:)``): spaces,
/// digits and lower case are common, upper case and other bytes rarer.
/// When the guess is wrong (the byte keeps turning up without the literal
/// around it: more than one false hit per ``falseHitSpacing`` bytes after
/// ``falseHitAllowance`` of them; the `F` of `FATAL` in every `INFO` line),
/// the next rarest byte of the literal takes over, up to
/// ``maximumAnchors`` of them; then `memmem`, for the rest of the search:
/// never much slower than `memmem` alone.
struct LiteralSearch {
    /// The literal (not empty).
    let literal: [UInt8]
    /// Indices in ``literal`` of the bytes `memchr` may look for, rarest
    /// first (distinct bytes).
    let anchors: [Int]
    /// Which of ``anchors`` is in use; ``anchors``' count: `memmem`.
    private var current = 0
    /// Hits of the anchor byte that were not the literal, and bytes covered meanwhile.
    private var falseHits = 0, covered = 0

    /// The index in ``literal`` of the byte `memchr` looks for now (nil: `memmem`).
    var anchor: Int? { current < anchors.count ? anchors[current] : nil }
    /// Every anchor byte proved common: `memmem` from then on.
    var usesMemmem: Bool { anchor == nil }

    /// False hits tolerated before their rate is judged.
    static let falseHitAllowance = 64
    /// Fewer than one false hit per this many bytes keeps `memchr` (a
    /// `memchr` call and a `memcmp` cost about what `memmem` spends on 256
    /// bytes).
    static let falseHitSpacing = 256
    /// The most anchor bytes tried before `memmem`.
    static let maximumAnchors = 3

    init(_ literal: [UInt8]) {
        precondition(!literal.isEmpty, "a literal has at least one byte")
        self.literal = literal
        var anchors: [Int] = []
        for i in literal.indices.sorted(by: { Self.commonness(literal[$0]) < Self.commonness(literal[$1]) })
        where !anchors.contains(where: { literal[$0] == literal[i] }) && anchors.count < Self.maximumAnchors {
            anchors.append(i)
        }
        self.anchors = anchors
    }

    /// How common `byte` is in log text, higher for more common (a fixed
    /// guess: English letter frequencies, `etaoin…`, and what timestamps
    /// and log lines are made of).
    static func commonness(_ byte: UInt8) -> Int {
        switch byte {
        case 0x20: return 255
        case 0x30...0x39: return 240                     // digits: timestamps, pids
        case 0x61...0x7A: return 230 - letterRank[Int(byte - 0x61)]
        case 0x2D, 0x2E, 0x2F, 0x3A, 0x5F, 0x3D, 0x2C, 0x5B, 0x5D, 0x28, 0x29: return 180   // - . / : _ = , [ ] ( )
        case 0x41...0x5A: return 130 - letterRank[Int(byte - 0x41)]
        case 0x21...0x7E: return 60
        default: return 20                               // controls, bytes of multibyte characters
        }
    }

    /// Rank of each letter a…z in English text (e 0, t 1, a 2, …, z 25).
    private static let letterRank: [Int] = {
        var rank = [Int](repeating: 25, count: 26)
        for (i, letter) in "etaoinsrhldcumfpgwybvkxjqz".utf8.enumerated() { rank[Int(letter - 0x61)] = i }
        return rank
    }()

    /// The index of the first occurrence of the literal that starts in
    /// `from..<limit - literal.count + 1` of `base` (it lies wholly before
    /// `limit`), or nil.
    mutating func first(in base: UnsafeRawPointer, from: Int, limit: Int) -> Int? {
        let end = limit - literal.count + 1   // the first place it cannot start at
        var at = from                         // the next place to look at
        while at < end, let anchor {
            let anchorByte = Int32(literal[anchor])
            guard let hit = memchr(base + at + anchor, anchorByte, end - at) else {
                covered += end - at
                return nil
            }
            let start = base.distance(to: UnsafeRawPointer(hit)) - anchor
            let matched = literal.withUnsafeBytes { memcmp(base + start, $0.baseAddress!, literal.count) == 0 }
            covered += start + 1 - at
            if matched { return start }
            falseHits += 1
            at = start + 1
            if falseHits > Self.falseHitAllowance && falseHits * Self.falseHitSpacing > covered {
                current += 1   // the next rarest byte, or memmem
                falseHits = 0; covered = 0
            }
        }
        return at < end ? viaMemmem(base, at, limit) : nil
    }

    private func viaMemmem(_ base: UnsafeRawPointer, _ from: Int, _ limit: Int) -> Int? {
        guard limit - from >= literal.count else { return nil }
        let hit = literal.withUnsafeBytes { csys_memmem(base + from, limit - from, $0.baseAddress, $0.count) }
        return hit.map { base.distance(to: $0) }
    }
}
