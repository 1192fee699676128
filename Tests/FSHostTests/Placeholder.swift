import XCTest
final class FSHostTestsPlaceholder: XCTestCase { func testPlaceholder() {} }
