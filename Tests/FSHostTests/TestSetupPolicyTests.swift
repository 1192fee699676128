import Foundation
import XCTest

/// A test whose set-up fails must fail, not skip: a skipped set-up (a
/// `cdb define` that stopped working, a product not built) would silently
/// hide every test behind it. This reads the whole Tests/ tree: an XCTSkip
/// is allowed only for what the machine lacks, and each one says which.
final class TestSetupPolicyTests: XCTestCase {
    /// The skips that name a missing machine feature, by a phrase of their reason.
    static let allowedSkips = [
        "the text-relocation fixture is x86-64 assembly",
        "pid 1's name is shared with other processes here",
        "this kernel has no NFS server",
    ]

    func testNoSetUpFailureIsTurnedIntoASkip() throws {
        let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        let files = try XCTUnwrap(FileManager.default.enumerator(atPath: tests.path))
            .compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        XCTAssertGreaterThan(files.count, 10, "read the Tests/ tree at \(tests.path)")
        var found: [String] = []
        for file in files where !file.hasSuffix("TestSetupPolicyTests.swift") {
            let text = try String(contentsOfFile: tests.path + "/" + file, encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where line.contains("XCTSkip(") {
                found.append("\(file):\(number + 1)")
                XCTAssertTrue(Self.allowedSkips.contains { line.contains($0) },
                              "\(file):\(number + 1) skips; a failing set-up must fail (throw SetupFailure): \(line)")
            }
        }
        XCTAssertEqual(found.count, Self.allowedSkips.count, "the allowed skips: \(found)")
    }
}
