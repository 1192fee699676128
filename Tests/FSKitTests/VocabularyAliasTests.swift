import FSKit
import HAVocabulary
import XCTest

/// The SDK keeps no mirror of the host's words: a plugin's `Status`,
/// `Action` and `Attribute.Kind` are the vocabulary's own types, so they
/// cannot drift from what the host reads.
final class VocabularyAliasTests: XCTestCase {
    func testTheSDKsWordsAreTheVocabularys() {
        XCTAssertTrue(Status.self == ExitStatus.self)
        XCTAssertTrue(Action.self == ActionName.self)
        XCTAssertTrue(Attribute.Kind.self == AttributeKind.self)
        XCTAssertTrue(FSKit.LogText.self == HAVocabulary.LogText.self, "one escaping, the host's")
        XCTAssertEqual(Outcome.failed("x").status.name, "HA_CMD_FAILED")
        XCTAssertEqual(Action.monitor.abiIndex, 3)
    }
}
