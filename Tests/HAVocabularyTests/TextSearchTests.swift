import HAVocabulary
import XCTest

/// Issue 16: the action path and the plugins search text without
/// `_StringProcessing` (TextSearch.swift); the answers are the ones its
/// `contains(_:)`, `firstRange(of:)` and `split(separator:)` + `joined`
/// give, which this test target may still use as the reference (whole
/// characters compared: `contains(_:)` alone differs, for a needle that
/// starts with a combining mark, which it also finds inside a character).
final class TextSearchTests: XCTestCase {
    let texts = ["", "a", "abc", "timed out after 5 s", "xx://yy", "aaaa", "abab", "one; two; one",
                 "cafe\u{301} au lait", "café", "e\u{301}", "secret-secret-secret", "😀👍🏽x"]
    let needles = ["", "a", "aa", "ab", "://", "timed out", "one", "e", "é", "e\u{301}", "\u{301}",
                   "secret-secret", "👍", "👍🏽", "x", "not there"]

    func testContainsAndFirstRangeAnswerLikeStringProcessing() {
        for text in texts {
            for needle in needles {
                // contains(_:) alone also finds a needle that starts with a
                // combining mark inside a character; whole characters are compared here.
                if needle.unicodeScalars.first?.properties.canonicalCombiningClass == .notReordered {
                    XCTAssertEqual(text.containsText(needle), text.contains(needle), "\(text) ∋ \(needle)")
                }
                XCTAssertEqual(text.containsText(needle), text.firstRange(of: needle) != nil && !needle.isEmpty, "\(text) ∋ \(needle)")
                XCTAssertEqual(text.firstRange(ofText: needle), text.firstRange(of: needle), "\(text) ∋ \(needle)")
                let sub = text.dropFirst()
                XCTAssertEqual(sub.firstRange(ofText: needle), sub.firstRange(of: needle), "\(sub) ∋ \(needle)")
            }
        }
    }

    func testReplacingAnswersLikeSplitAndJoined() {
        for text in texts {
            for needle in needles where !needle.isEmpty {
                let reference = text.split(separator: needle, omittingEmptySubsequences: false).joined(separator: "<R>")
                XCTAssertEqual(text.replacingText(needle, with: "<R>"), reference, "\(text) / \(needle)")
            }
        }
        XCTAssertEqual("aaaa".replacingText("aa", with: "b"), "bb", "left to right, not overlapping")
        XCTAssertEqual("abc".replacingText("", with: "x"), "abc", "an empty target changes nothing")
    }
}
