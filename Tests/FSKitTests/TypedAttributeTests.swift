import XCTest
@testable import FSKit

/// The SDK's building blocks, tested without a host: typed attributes here,
/// the daemon lifecycle and file checks in their own files.
final class TypedAttributeTests: XCTestCase {
    func testPlaceholderUntilTypedAttributesLand() {
        XCTAssertEqual(Attribute("port", .port, "p").name, "port")
    }
}
