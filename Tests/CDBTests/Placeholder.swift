import XCTest
final class CDBTestsPlaceholder: XCTestCase { func testPlaceholder() {} }
