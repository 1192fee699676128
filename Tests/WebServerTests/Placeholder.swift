import XCTest
final class WebServerTestsPlaceholder: XCTestCase { func testPlaceholder() {} }
