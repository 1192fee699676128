// The SDK's log building blocks (LogFollower, LogGrowth, LinePattern)
// against real files in a temporary directory: appends, partial lines,
// rename and copy-truncate rotations, the read bound, patterns.
import Foundation
@testable import FSKit
import HAVocabulary
import XCTest

final class LogFollowerTests: XCTestCase {
    var directory: String!
    var log: String { directory + "/app.log" }

    override func setUpWithError() throws {
        var template = Array("/tmp/fskit-log.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw NSError(domain: "mkdtemp", code: Int(errno))
        }
        directory = String(cString: made)
    }

    override func tearDown() {
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
        super.tearDown()
    }

    func append(_ text: String, to path: String? = nil) throws {
        let path = path ?? log
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(text.utf8))
        handle.closeFile()
    }

    func read(_ follower: LogFollower, _ since: LogPosition?) throws -> LogFollower.Chunk {
        switch follower.readNew(since: since) {
        case .success(let chunk): return chunk
        case .failure(let p): throw NSError(domain: "read: \(p)", code: 1)
        }
    }

    func text(_ chunk: LogFollower.Chunk) -> String { String(decoding: chunk.bytes, as: UTF8.self) }

    // MARK: LogFollower

    func testOnlyNewCompleteLinesAreReadAndAPartialLineWaits() throws {
        try append("old 1\nold 2\nhalf")
        let f = LogFollower(path: log, maxBytes: 1 << 20)
        let base = try XCTUnwrap(try? f.baseline().get())
        XCTAssertEqual(base.offset, 12, "the baseline is the start of the incomplete last line")
        try append(" done\nnew 1\nnew")
        let first = try read(f, base)
        XCTAssertEqual(text(first), "half done\nnew 1\n")
        XCTAssertEqual(first.bytesRead, 19, "read from the baseline to the end, nothing before")
        try append(" 2\n")
        let second = try read(f, first.position)
        XCTAssertEqual(text(second), "new 2\n", "the partial line is read whole the next time")
        let third = try read(f, second.position)
        XCTAssertEqual(third.bytes, [])
        XCTAssertEqual(third.bytesRead, 0)
    }

    func testRenameRotationReadsWhatIsLeftInTheOldFileFirst() throws {
        try append("a\n")
        let f = LogFollower(path: log, maxBytes: 1 << 20)
        let base = try f.baseline().get()
        try append("b\nlast-old\n")
        XCTAssertEqual(rename(log, log + ".1"), 0)
        try append("c\n")
        let chunk = try read(f, base)
        XCTAssertEqual(text(chunk), "b\nlast-old\nc\n")
        XCTAssertTrue(chunk.events.contains { $0.hasPrefix("rotated") }, "\(chunk.events)")
        try append("d\n")
        XCTAssertEqual(text(try read(f, chunk.position)), "d\n")
    }

    func testARenamedLogWithoutANewOneIsFollowedInTheOldFile() throws {
        try append("a\n")
        let f = LogFollower(path: log, maxBytes: 1 << 20)
        let base = try f.baseline().get()
        var mark = try LogGrowth.mark(log, now: 1000).get()
        XCTAssertEqual(rename(log, log + ".1"), 0)
        try append("b\n", to: log + ".1")
        let chunk = try read(f, base)
        XCTAssertEqual(text(chunk), "b\n")
        let (verdict, new) = try LogGrowth.check(log, window: .seconds(5), remembered: mark, now: 2000).get()
        XCTAssertEqual(verdict, .active("grew by 2 bytes"), "the old file grew")
        mark = try XCTUnwrap(new)
        // The writer reopens: a new log; the old one's rest, then the new one.
        try append("c\n", to: log + ".1")
        try append("d\n")
        XCTAssertEqual(text(try read(f, chunk.position)), "c\nd\n")
        guard case .active(let what) = try LogGrowth.check(log, window: .seconds(5), remembered: mark, now: 3000).get().0 else {
            return XCTFail("the new file is activity")
        }
        XCTAssertTrue(what.hasPrefix("rotated"), what)
    }

    func testCopyTruncateReadsTheCopysRestThenTheFileFromItsStart() throws {
        try append("a\n")
        let f = LogFollower(path: log, maxBytes: 1 << 20)
        let base = try f.baseline().get()
        try append("b\n")
        try FileManager.default.copyItem(atPath: log, toPath: log + ".1")
        XCTAssertEqual(truncate(log, 0), 0)
        try append("c\n")
        let chunk = try read(f, base)
        XCTAssertEqual(text(chunk), "b\nc\n")
        XCTAssertTrue(chunk.events.contains { $0.hasPrefix("truncated (copy-truncate)") }, "\(chunk.events)")
    }

    func testTruncatedAndRewrittenPastTheOffsetIsReadFromTheStart() throws {
        try append("0123456789\n")
        let f = LogFollower(path: log, maxBytes: 1 << 20)
        let base = try f.baseline().get()
        XCTAssertEqual(truncate(log, 0), 0)
        try append("another text, longer than before\n")
        XCTAssertEqual(text(try read(f, base)), "another text, longer than before\n")
    }

    func testAtMostMaxBytesAreReadAndTheOldestAreSkipped() throws {
        try append("")
        let f = LogFollower(path: log, maxBytes: 100)
        let base = try f.baseline().get()
        let lines = (0..<50).map { String(format: "line %03d\n", $0) }   // 9 bytes each
        try append(lines.joined())
        let chunk = try read(f, base)
        XCTAssertLessThanOrEqual(chunk.bytesRead, 100)
        XCTAssertEqual(text(chunk), lines.suffix(11).joined(), "whole lines from the newest 100 bytes")
        XCTAssertEqual(chunk.skipped, Int64(450 - 99))
        XCTAssertEqual(chunk.position.offset, 450)
    }

    func testPositionTextRoundTripsAndGarbageIsRefused() {
        let p = LogPosition(device: 2049, inode: 77, offset: 1 << 40, fingerprint: 42)
        XCTAssertEqual(LogPosition(text: p.text), p)
        for bad in ["", "log1 1 2 3", "log1 a b c d", "log1 1 2 -3 4", "garbage\u{0}", "log2 1 2 3 4"] {
            XCTAssertNil(LogPosition(text: bad), bad)
        }
    }

    // MARK: LogGrowth

    func testGrowthRotationAndTruncationAreActivityAndOnlyStillnessIsStale() throws {
        try append("0123456789\n")
        var mark = try LogGrowth.mark(log, now: 1000).get()
        func check(at now: Int64) throws -> LogGrowth.Verdict {
            let (verdict, new) = try LogGrowth.check(log, window: .seconds(5), remembered: mark, now: now).get()
            if let new { mark = new }
            return verdict
        }
        XCTAssertEqual(try check(at: 3000), .quiet(.seconds(2)))
        XCTAssertEqual(try check(at: 7000), .stale(.seconds(6)))
        try append("x\n")
        XCTAssertEqual(try check(at: 8000), .active("grew by 2 bytes"))
        // Rename rotation to a new file of exactly the old length.
        XCTAssertEqual(rename(log, log + ".1"), 0)
        try append("0123456789\nx\n")
        guard case .active(let what) = try check(at: 20000) else { return XCTFail("same-length rotation is activity") }
        XCTAssertTrue(what.hasPrefix("rotated"), what)
        XCTAssertEqual(truncate(log, 0), 0)
        guard case .active(let shorter) = try check(at: 30000) else { return XCTFail("truncation is activity") }
        XCTAssertTrue(shorter.hasPrefix("truncated"), shorter)
        XCTAssertNil(LogGrowth.Mark(text: "grow1 1 2 x 4 5"))
        XCTAssertEqual(LogGrowth.Mark(text: mark.text), mark)
        // A mark from another boot (later than now) starts the window again.
        guard case .active = try LogGrowth.check(log, window: .seconds(5), remembered: mark, now: 10).get().0 else {
            return XCTFail("a mark from the future must restart the window")
        }
    }

    // MARK: LinePattern

    func testPatternFindsTheFirstMatchingLineAndNeverSpansALineEnd() throws {
        let p = try LinePattern("ERROR|FATAL")
        let bytes = Array("ok 1\nan ERROR here\nFATAL\n".utf8)
        let line = try XCTUnwrap(p.firstMatchingLine(in: bytes))
        XCTAssertEqual(String(decoding: bytes[line], as: UTF8.self), "an ERROR here")
        let spanning = try LinePattern("a[[:space:]]+b")
        XCTAssertNil(spanning.firstMatchingLine(in: Array("xa\nb\n".utf8)), "a match across a line end is no match")
        XCTAssertNotNil(spanning.firstMatchingLine(in: Array("xa\nb\na  b\n".utf8)))
        XCTAssertNotNil(try LinePattern("^tick [0-9]+ ok$").firstMatchingLine(in: Array("x\ntick 12 ok\n".utf8)))
        XCTAssertNotNil(try LinePattern("b").firstMatchingLine(in: [0x61, 0x00, 0x62, 0x0A]), "a NUL byte is a byte")
    }

    func testInvalidPatternSaysWhereItFails() {
        func error(_ text: String) -> LinePattern.CompileError? {
            do { _ = try LinePattern(text); return nil } catch { return error }
        }
        let paren = error("ok(a|b")
        XCTAssertEqual(paren?.offset, 2, "the unmatched '(' is at byte 2")
        XCTAssertTrue(paren?.description.contains("Unmatched ( or \\(") ?? false, paren?.description ?? "")
        XCTAssertTrue(paren?.description.contains("at byte 2") ?? false, paren?.description ?? "")
        XCTAssertEqual(error("abc[z-a]")?.offset, 3, "the bad bracket starts at byte 3")
        XCTAssertEqual(error("ab\\")?.offset, 2, "the trailing backslash")
        XCTAssertNotNil(error(""), "an empty pattern matches every line")
        XCTAssertNotNil(error("a\nb"))
    }

    /// A back-reference makes glibc's regexec exponential in the line's
    /// length, uninterruptible: refused at compile time, saying where; a
    /// `\1` inside a bracket expression is no back-reference.
    func testBackReferencesAreRefused() throws {
        for text in ["(a|aa)*\\1\\1x", "(x)\\1", "a|(b)c\\9"] {
            do {
                _ = try LinePattern(text)
                XCTFail("'\(text)' was accepted")
            } catch {
                XCTAssertTrue(error.description.contains("back-reference"), error.description)
                XCTAssertNotNil(error.offset, error.description)
            }
        }
        XCTAssertEqual(LinePattern.backReference(Array("(a|aa)*\\1".utf8)), 7)
        XCTAssertNil(LinePattern.backReference(Array("[\\1]x\\.y[]\\2][[:digit:]\\3]".utf8)),
                     "inside brackets a backslash is a member; \\. is an escaped dot")
        XCTAssertNoThrow(try LinePattern("ERROR [0-9]+\\.[0-9]"))
    }

    /// The scan reads the clock between pieces of whole lines: past its
    /// deadline it stops and says how far it judged (nothing is taken as
    /// read); a line longer than longestLine is matched on its head only.
    func testScanStopsAtItsDeadlineAndBoundsTheLineMatched() throws {
        let pattern = try LinePattern("ERROR")
        let line = Array((String(repeating: "y", count: 99) + "\n").utf8)
        var bytes: [UInt8] = []
        for _ in 0..<5_000 { bytes += line }
        bytes += Array("ERROR late\n".utf8)
        XCTAssertEqual(pattern.scan(bytes, deadline: LogGrowth.now() - 1), .outOfTime(judged: 0), "past the deadline: nothing judged")
        guard case .matched(let found) = pattern.scan(bytes, deadline: LogGrowth.now() + 10_000) else {
            return XCTFail("the error line behind 500 KB was not found")
        }
        XCTAssertEqual(String(decoding: bytes[found], as: UTF8.self), "ERROR late")
        XCTAssertEqual(pattern.scan(Array("ok\n".utf8), deadline: LogGrowth.now() + 10_000), .none)

        let long = Array(repeating: UInt8(ascii: "y"), count: LinePattern.longestLine + 10) + Array("ERROR\nERROR next\n".utf8)
        guard case .matched(let next) = pattern.scan(long, deadline: LogGrowth.now() + 10_000) else { return XCTFail("no match") }
        XCTAssertEqual(String(decoding: long[next], as: UTF8.self), "ERROR next",
                       "an ERROR past the first longestLine bytes of one line is not matched; the next line is")
        let head = Array("ERROR ".utf8) + Array(repeating: UInt8(ascii: "y"), count: LinePattern.longestLine * 2) + [0x0A]
        XCTAssertEqual(pattern.scan(head, deadline: LogGrowth.now() + 10_000), .matched(0..<head.count - 1),
                       "a long line matched on its head is shown whole")
    }

    /// The literals every match must hold (one per top-level alternative),
    /// or nil where the rule cannot promise one: what it does not
    /// understand is never taken as required.
    func testRequiredLiteralsAreOnlyWhatEveryMatchHolds() {
        func literals(_ p: String) -> [String]? {
            RegexSyntax.requiredLiterals(Array(p.utf8))?.map { String(decoding: $0, as: UTF8.self) }
        }
        XCTAssertEqual(literals("ERROR|FATAL"), ["ERROR", "FATAL"])
        XCTAssertEqual(literals("heartbeat ok"), ["heartbeat ok"])
        XCTAssertEqual(literals("^tick [0-9]+ ok$"), ["tick "])
        XCTAssertEqual(literals("ab?cd"), ["cd"], "b? is optional: 'abcd' is no required run")
        XCTAssertEqual(literals("xy*z"), ["x"])
        XCTAssertEqual(literals("ab+cd"), ["ab"], "after b's repetition c is not adjacent to ab")
        XCTAssertEqual(literals("ab{2}c"), ["a"])
        XCTAssertEqual(literals("file\\.conf"), ["file.conf"], "an escaped dot is a dot")
        XCTAssertEqual(literals("a\\.?b"), ["a"])
        XCTAssertEqual(literals("id=(1|2) ok|[Ee]rror: disk"), ["id=", "rror: disk"])
        XCTAssertEqual(literals("x\\w"), ["x"], "\\w is an operator, not a w")
        XCTAssertEqual(literals("\u{e9}t\u{e9}"), ["t"], "a byte of a multibyte character is never required alone")
        for none in ["^$", ".*", "(ERROR|FATAL)", "[0-9]+", "a|.", "\\w+", "\u{e9}+"] {
            XCTAssertNil(literals(none), "'\(none)' has an alternative without a required literal")
        }
    }

    /// The literal search answers what regexec over pieces answers (same
    /// first line, same none) for patterns with literals, on lines built
    /// to tempt it: a literal past a long line's head, a literal split by
    /// a newline, anchors, a candidate line that does not match.
    func testTheLiteralSearchAnswersLikeRegexecOverPieces() throws {
        let long = String(repeating: "y", count: LinePattern.longestLine + 5)
        let texts = ["ok\nINFO fine\nan ERROR here\nFATAL\n", "ERR\nOR\n", "x ERROR\nERROR y\nERROR\n", long + "ERROR\nok\n",
                     "FATA\nL ERROR\n", "tick 12 ok\ntick x ok\n", "nothing\n", "", "\n\n", "id=3 ok\nid=1 ok\n",
                     String(repeating: "INFO heartbeat ok\n", count: 3000) + "then ERROR\n"]
        for pattern in ["ERROR|FATAL", "^ERROR$", "heartbeat ok", "^tick [0-9]+ ok$", "ERROR y|^FATAL$", "id=(1|2) ok", "OR$"] {
            let p = try LinePattern(pattern)
            XCTAssertNotNil(p.literals, pattern)
            for text in texts {
                let bytes = Array(text.utf8)
                XCTAssertEqual(p.scan(bytes, deadline: LogGrowth.now() + 10_000), p.scanInPieces(bytes, deadline: LogGrowth.now() + 10_000),
                               "'\(pattern)' on \(text.prefix(60).debugDescription)")
            }
        }
        let anchored = try LinePattern("^ERROR$")
        let bytes = Array("x ERROR\nERROR y\nERROR\n".utf8)
        XCTAssertEqual(anchored.scan(bytes, deadline: LogGrowth.now() + 10_000), .matched(16..<21), "^ and $ hold per line")
    }

    /// What the follower and the pattern do together: a match that would
    /// run into the partial last line does not count until the line is
    /// complete; a line written half in one check and half in the next is
    /// judged whole by the next.
    func testAMatchNeedsTheCompleteLineAcrossReads() throws {
        let f = LogFollower(path: log, maxBytes: 1 << 20)
        try append("start\n")
        let base = try XCTUnwrap(try? f.baseline().get())
        let pattern = try LinePattern("^ERROR disk$")
        try append("ok\nERROR disk")          // the last line not ended yet: it could still become "ERROR disk full"
        let first = try read(f, base)
        XCTAssertEqual(text(first), "ok\n")
        XCTAssertEqual(pattern.scan(first.bytes, deadline: LogGrowth.now() + 10_000), .none, "the partial last line is not judged")
        try append(" full\nERROR di")
        let second = try read(f, first.position)
        XCTAssertEqual(text(second), "ERROR disk full\n")
        XCTAssertEqual(pattern.scan(second.bytes, deadline: LogGrowth.now() + 10_000), .none, "completed, it does not match")
        try append("sk\n")
        let third = try read(f, second.position)
        XCTAssertEqual(text(third), "ERROR disk\n", "the line straddling two reads is read whole")
        XCTAssertEqual(pattern.scan(third.bytes, deadline: LogGrowth.now() + 10_000), .matched(0..<10))
    }

    /// A log not created yet (the writer opens it itself) is quiet within
    /// the window from the absent mark, stale after it, and its appearing
    /// is activity.
    func testAnAbsentLogIsQuietWithinTheWindowThenStale() throws {
        let mark = LogGrowth.Mark.absent(since: 1_000)
        guard case .success((.quiet, nil)) = LogGrowth.check(log, window: .seconds(2), remembered: mark, now: 2_500) else {
            return XCTFail("missing within the window")
        }
        guard case .success((.stale, nil)) = LogGrowth.check(log, window: .seconds(2), remembered: mark, now: 3_500) else {
            return XCTFail("missing after the window")
        }
        try append("first\n")
        guard case .success((.active(let what), _?)) = LogGrowth.check(log, window: .seconds(2), remembered: mark, now: 3_500) else {
            return XCTFail("appeared")
        }
        XCTAssertTrue(what.hasPrefix("appeared"), what)
    }

    /// With trustedOwners the follower reads only files nobody else could
    /// have written: the log, and log.1 when it reads it; the message
    /// names where the file really is.
    func testAFollowerWithTrustedOwnersRefusesAFileOthersCanWrite() throws {
        chmod(directory, 0o755)
        try append("one\n")
        let follower = LogFollower(path: log, maxBytes: 1 << 20, trustedOwners: [0, geteuid()])
        let start = try read(follower, nil).position
        chmod(log, 0o666)
        guard case .failure(.untrusted(let why)) = follower.readNew(since: start) else { return XCTFail("a 0666 log was read") }
        XCTAssertTrue(why.contains("writable by others") && why.contains(log), why)
        chmod(log, 0o644)
        try append("two\n")
        XCTAssertEqual(rename(log, log + ".1"), 0)
        try append("three\n")
        chmod(log + ".1", 0o666)
        guard case .failure(.untrusted(let rotated)) = follower.readNew(since: start) else { return XCTFail("a 0666 log.1 was read") }
        XCTAssertTrue(rotated.contains(log + ".1"), rotated)
        chmod(log + ".1", 0o644)
        XCTAssertEqual(text(try read(follower, start)), "two\nthree\n")
    }

    /// Finding 3 without back-references: glibc is still superlinear in a
    /// line's length for an ambiguous pattern (`(a|aa)*x`: seconds on one
    /// 64 KiB line). Lines are matched on at most longestLine bytes and
    /// the clock is read between calls: 40 lines of 8 KiB stop near the
    /// deadline instead of running on.
    func testAnAmbiguousPatternOnLongLinesStopsNearTheDeadline() throws {
        let pattern = try LinePattern("(a|aa)*x")
        XCTAssertEqual(pattern.literals, [[UInt8(ascii: "x")]], "every match holds an x")
        var noX: [UInt8] = [], xAtTheEnd: [UInt8] = []
        for _ in 0..<40 {
            noX += Array(repeating: UInt8(ascii: "a"), count: 8192) + [0x0A]
            xAtTheEnd += Array(repeating: UInt8(ascii: "a"), count: 8191) + Array("x\n".utf8)
        }
        // Regexec over pieces (any pattern), and the literal search whose
        // candidate lines each cost a regexec on their head.
        for (name, scan) in [("pieces", { pattern.scanInPieces(noX, deadline: $0) }),
                             ("literal candidates", { pattern.scan(xAtTheEnd, deadline: $0) })] as [(String, (Int64) -> LinePattern.Scan)] {
            let begun = LogGrowth.now()
            let answer = scan(begun + 300)
            let took = LogGrowth.now() - begun
            guard case .outOfTime(let judged) = answer else { return XCTFail("\(name): \(answer) after \(took) ms") }
            XCTAssertGreaterThan(judged, 0, "\(name): some lines were judged")
            XCTAssertLessThan(took, 1500, "\(name): stopped near the 300 ms deadline")
        }
        let begun = LogGrowth.now()
        XCTAssertEqual(pattern.scan(noX, deadline: begun + 300), .none, "no x, no candidate line: no regexec at all")
        XCTAssertLessThan(LogGrowth.now() - begun, 100)
    }

    // MARK: Reading through a small buffer, literals by their rarest byte

    /// Blocks of `scanNew` through a small buffer, joined, and its position.
    func scanned(_ follower: LogFollower, _ since: LogPosition?, bufferSize: Int) throws -> (bytes: [UInt8], pass: LogFollower.Pass) {
        var joined: [UInt8] = []
        switch follower.scanNew(since: since, bufferSize: bufferSize, { block in
            XCTAssertFalse(block.isEmpty, "no empty block")
            joined += block
            return true
        }) {
        case .success(let pass): return (joined, pass)
        case .failure(let p): throw NSError(domain: "scan: \(p)", code: 1)
        }
    }

    /// Read through a buffer much smaller than what waits, the blocks give
    /// the lines readNew gives in one array, in order, each block ending a
    /// line, and the same next position: across block boundaries, after a
    /// rename rotation (log.1's unterminated last line gets its newline),
    /// with a partial last line waiting, and with the bound skipping the
    /// oldest bytes mid-line.
    func testReadingThroughASmallBufferGivesTheSameLinesAndPosition() throws {
        var lines = ""
        for i in 0..<3000 { lines += "line \(i) " + String(repeating: "z", count: i % 97) + "\n" }
        try append("start\n")
        for maxBytes in [1 << 20, 50_000] {
            let f = LogFollower(path: log, maxBytes: maxBytes)
            let base = try XCTUnwrap(try? f.baseline().get())
            try append(lines + "partial")
            let whole = try read(f, base)
            let (joined, pass) = try scanned(f, base, bufferSize: 4096)
            XCTAssertEqual(joined, whole.bytes, "max \(maxBytes): the same lines")
            XCTAssertEqual(pass.position, whole.position, "max \(maxBytes): the same next position")
            XCTAssertEqual(pass.skipped, whole.skipped)
            XCTAssertEqual(pass.bytesJudged, whole.bytes.count)
            try append("\n")
            _ = try read(f, whole.position)
        }
        // Rotation: the rest of log.1 (no final newline) first, then the new log.
        let f = LogFollower(path: log, maxBytes: 1 << 20)
        let base = try XCTUnwrap(try? f.baseline().get())
        try append(lines + "last old line")
        XCTAssertEqual(rename(log, log + ".1"), 0)
        try append(lines)
        let whole = try read(f, base)
        let (joined, pass) = try scanned(f, base, bufferSize: 4096)
        XCTAssertEqual(joined, whole.bytes)
        XCTAssertTrue(String(decoding: joined, as: UTF8.self).contains("last old line\nline 0 \n"), "log.1 first, its line ended")
        XCTAssertEqual(pass.position, whole.position)
    }

    /// The edges of the bound and of rotation read through a small buffer
    /// answer as readNew does: one incomplete line longer than maxBytes
    /// (nothing judged, all counted skipped, the position past it); an
    /// incomplete last line exactly maxBytes long, judged as it is; a
    /// rotated file whose unterminated last line is longer than the buffer.
    func testTheBoundsEdgesThroughASmallBufferAnswerAsReadNewDoes() throws {
        func same(_ f: LogFollower, _ since: LogPosition, _ what: String) throws {
            let whole = try read(f, since)
            let (joined, pass) = try scanned(f, since, bufferSize: 4096)
            XCTAssertEqual(pass.position, whole.position, what)
            XCTAssertEqual(pass.skipped, whole.skipped, what)
            if whole.bytes.count <= 4096 { XCTAssertEqual(joined, whole.bytes, what) }
        }
        try append("start\n")
        let small = LogFollower(path: log, maxBytes: 8192)
        var base = try XCTUnwrap(try? small.baseline().get())
        try append(String(repeating: "x", count: 20_000))
        try same(small, base, "one incomplete line longer than max_read")
        try append("\n")
        base = try XCTUnwrap(try? small.baseline().get())
        try append(String(repeating: "y", count: 8192))
        try same(small, base, "an incomplete line exactly max_read long")
        try append("\n")
        let f = LogFollower(path: log, maxBytes: 1 << 20)
        base = try XCTUnwrap(try? f.baseline().get())
        try append("ok\n" + String(repeating: "z", count: 10_000))
        XCTAssertEqual(rename(log, log + ".1"), 0)
        try append("new\n")
        try same(f, base, "a rotated file's long unterminated last line")
        var blocks: [String] = []
        _ = f.scanNew(since: base, bufferSize: 4096) { blocks.append(String(decoding: $0, as: UTF8.self)); return true }
        XCTAssertEqual(blocks, ["ok\n", String(repeating: "z", count: 4096), "new\n"], "its head, then the new log")
    }

    /// A line longer than the buffer: its head (the buffer's length) is
    /// judged, the rest is not given, the lines after it are; the judge
    /// answering false stops the pass and gives no position.
    func testALineLongerThanTheBufferIsJudgedOnItsHeadAndTheJudgeCanStop() throws {
        try append("start\n")
        let f = LogFollower(path: log, maxBytes: 1 << 20)
        let base = try XCTUnwrap(try? f.baseline().get())
        let long = String(repeating: "a", count: 10_000) + "ERROR\n"
        try append("before\n" + long + "after\n")
        var blocks: [String] = []
        _ = f.scanNew(since: base, bufferSize: 4096) { blocks.append(String(decoding: $0, as: UTF8.self)); return true }
        XCTAssertEqual(blocks, ["before\n", String(repeating: "a", count: 4096), "after\n"],
                       "the long line's head alone (no ERROR in its tail), then the line after it")
        var calls = 0
        guard case .success(let pass) = f.scanNew(since: base, bufferSize: 4096, { _ in calls += 1; return false }) else {
            return XCTFail("scan failed")
        }
        XCTAssertEqual(calls, 1, "stopped at the first block")
        XCTAssertNil(pass.position, "a stopped pass gives no position to store")
    }

    /// The rarest-byte search finds what a plain search finds, including when its
    /// anchor byte is everywhere (it turns to memmem for the rest) and a
    /// literal straddles the search's limit.
    func testTheLiteralSearchFindsWhatMemmemFinds() {
        XCTAssertEqual(LiteralSearch(Array("ERROR".utf8)).anchors, [1, 3, 0], "R, O, E: rarest first, each byte once")
        XCTAssertEqual(LiteralSearch(Array("heartbeat ok".utf8)).anchor, 11, "k is the rarest letter")
        var texts: [[UInt8]] = [Array("no match here\n".utf8), Array("ERRORERROR".utf8), Array("xERRO".utf8), []]
        texts.append(Array(String(repeating: "RRRR ", count: 2000).utf8) + Array("ERROR\n".utf8))   // R everywhere
        texts.append(Array(String(repeating: "ERRO\n", count: 500).utf8) + Array("ERROR".utf8))
        for literal in ["ERROR", "R", "RRRRR", "ERROR\n"] {
            let needle = Array(literal.utf8)
            for text in texts {
                for limit in Set([text.count, max(0, text.count - 1), text.count / 2]) {
                    var search = LiteralSearch(needle)
                    let found = text.withUnsafeBytes { raw -> Int? in
                        guard let base = raw.baseAddress else { return nil }
                        return search.first(in: base, from: 0, limit: limit)
                    }
                    // The first place it starts, found the plain way.
                    let expected = limit < needle.count ? nil
                        : (0...(limit - needle.count)).first { Array(text[$0..<$0 + needle.count]) == needle }
                    XCTAssertEqual(found, expected, "'\(literal)' in \(text.count) bytes up to \(limit)")
                }
            }
        }
        // Every byte of the literal common, the literal absent: R, then O, then E, then memmem.
        var common = LiteralSearch(Array("ERRO".utf8))
        let rs = Array(String(repeating: "ROE ", count: 25_000).utf8)
        XCTAssertNil(rs.withUnsafeBytes { common.first(in: $0.baseAddress!, from: 0, limit: $0.count) })
        XCTAssertTrue(common.usesMemmem, "anchor bytes that are all common turn the search to memmem")
        // FATAL in INFO lines: its F is in every line, its L in none: L takes over.
        var fatal = LiteralSearch(Array("FATAL".utf8))
        XCTAssertEqual(fatal.anchor, 0, "F first")
        let info = Array(String(repeating: "2026-11-30T05:00:00 INFO worker heartbeat ok\n", count: 2000).utf8) + Array("FATAL\n".utf8)
        XCTAssertEqual(info.withUnsafeBytes { fatal.first(in: $0.baseAddress!, from: 0, limit: $0.count) }, info.count - 6)
        XCTAssertEqual(fatal.anchor, 4, "L took over from F")
    }
}
