import FSHost
import HAVocabulary
import XCTest

/// LogText: the one place log lines and JSON reasons are escaped and bounded.
final class LogTextTests: XCTestCase {
    func testControlCharactersAreEscaped() {
        XCTAssertEqual(LogText.reason("a\nb\rc\td"), "a\\nb\\rc\\td")
        XCTAssertEqual(LogText.reason("\u{0}\u{1B}\u{7F}"), "\\x00\\x1B\\x7F")
        XCTAssertEqual(LogText.reason("x\u{85}y\u{2028}z\u{2029}"), "x\\u0085y\\u2028z\\u2029")
        XCTAssertEqual(LogText.reason("plain text, é, ü, 日本, back\\slash"), "plain text, é, ü, 日本, back\\slash")
    }

    func testLongTextIsCutAtACharacterBoundaryAndTheCutIsCounted() {
        XCTAssertEqual(LogText.reason(String(repeating: "x", count: 1024)), String(repeating: "x", count: 1024))
        let cut = LogText.reason(String(repeating: "x", count: 5000))
        XCTAssertEqual(cut, String(repeating: "x", count: 1024) + "… (3976 bytes cut)")
        // 3-byte characters: 341 fit in 1024 bytes; the 342nd is not split.
        let wide = LogText.reason(String(repeating: "日", count: 400))
        XCTAssertTrue(wide.hasPrefix(String(repeating: "日", count: 341) + "… (177 bytes cut)"), wide)
    }

    func testLinesAreBoundedAtFourKiB() {
        let line = LogText.line(String(repeating: "z", count: 100_000))
        XCTAssertLessThan(line.utf8.count, 4200)
        XCTAssertTrue(line.hasSuffix("(\(100_000 - 4096) bytes cut)"), String(line.suffix(40)))
    }

    /// Bytes from outside (the SDK's pidfile and command-output reasons):
    /// trimmed, the same escapes as every log line, invalid UTF-8 as `\xNN`,
    /// the same cut mark — one dialect for host and SDK.
    func testBytesFromOutsideAreTrimmedAndEscapedInTheOneDialect() {
        XCTAssertEqual(LogText.escaped("  123 456\n"), "123 456")
        XCTAssertEqual(LogText.escaped("a\nb\tc\\d\u{1B}"), "a\\nb\\tc\\d\\x1B")
        XCTAssertEqual(LogText.escaped([0x61, 0xFF, 0x0A, 0x62]), "a\\xFF\\nb")
        XCTAssertEqual(LogText.escaped(String(repeating: "x", count: 10), limit: 4), "xxxx… (6 bytes cut)")
        XCTAssertEqual(LogText.escaped("a\u{2028}b"), "a\\u2028b")
        XCTAssertEqual(LogText.escaped(" \n\t "), "")
        XCTAssertEqual(LogText.escaped("a\u{1B}b"), LogText.reason("a\u{1B}b"), "the same escape as a reason")
    }
}

/// LogFields: the key=value words of an action's log lines.
final class LogFieldsTests: XCTestCase {
    func testPlainValuesStayBareOthersAreQuotedAndEscaped() {
        XCTAssertEqual(LogFields.field("type", "webserver"), "type=webserver")
        XCTAssertEqual(LogFields.field("timing", "verify 1us, load 2us"), "timing=\"verify 1us, load 2us\"")
        XCTAssertEqual(LogFields.field("x", ""), "x=\"\"")
        XCTAssertEqual(LogFields.field("x", "a=b"), "x=\"a=b\"")
        XCTAssertEqual(LogFields.field("x", "say \"hi\" \\o/"), "x=\"say \\\"hi\\\" \\\\o/\"")
        XCTAssertEqual(LogFields.action(type: "nfs", resource: "e1", action: "stop", level: nil),
                       "type=nfs resource=e1 action=stop level=-")
        XCTAssertEqual(LogFields.action(type: "nfs", resource: "e1", action: "monitor", level: 3),
                       "type=nfs resource=e1 action=monitor level=3")
    }
}
