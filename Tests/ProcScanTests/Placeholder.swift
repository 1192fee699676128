import XCTest
final class ProcScanTestsPlaceholder: XCTestCase { func testPlaceholder() {} }
