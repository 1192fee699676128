import XCTest
final class ELFCheckTestsPlaceholder: XCTestCase { func testPlaceholder() {} }
