import CDB
import Foundation
import XCTest

/// A test case with a private temporary directory (mode 0700) for a CDB,
/// removed afterwards: shared by the CDB's tests and the admin tool's.
open class CDBTestCase: XCTestCase {
    public var directory = ""
    public var path: String { directory + "/cdb.sqlite" }

    override open func setUpWithError() throws {
        var template = Array("/tmp/cdbtest.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SetupFailure("mkdtemp: \(String(cString: strerror(errno)))")
        }
        directory = String(cString: made)
    }

    override open func tearDownWithError() throws {
        chmod(directory, 0o700)
        try? FileManager.default.removeItem(atPath: directory)
    }

    public func writer() throws -> ConfigurationDatabase {
        try ConfigurationDatabase(path: path, mode: .readWrite)
    }

    public func reader() throws -> ConfigurationDatabase {
        try ConfigurationDatabase(path: path, mode: .readOnly)
    }

    /// Asserts that `body` throws exactly `expected`.
    public func assertThrows<T>(_ expected: CDBError, file: StaticString = #filePath, line: UInt = #line,
                         _ body: () throws -> T) {
        do {
            _ = try body()
            XCTFail("expected \(expected)", file: file, line: line)
        } catch let error as CDBError {
            XCTAssertEqual(error, expected, file: file, line: line)
        } catch {
            XCTFail("expected \(expected), got \(error)", file: file, line: line)
        }
    }

    /// The CDBError `body` throws (fails the test if none).
    public func cdbError<T>(file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T) -> CDBError? {
        do {
            _ = try body()
            XCTFail("expected an error", file: file, line: line)
        } catch let error as CDBError {
            return error
        } catch {
            XCTFail("expected a CDBError, got \(error)", file: file, line: line)
        }
        return nil
    }

    /// Bytes, size and modification time of a file (nil if absent).
    public struct Fingerprint: Equatable {
        public var size: Int
        public var modified: String
        public var mode: UInt32
        public var bytes: Data
    }

    public func fingerprint(_ file: String) -> Fingerprint? {
        var st = stat()
        guard stat(file, &st) == 0, let data = FileManager.default.contents(atPath: file) else { return nil }
        return Fingerprint(size: Int(st.st_size), modified: "\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)",
                           mode: st.st_mode, bytes: data)
    }

    /// (Without the CDB's snapshot directory, `cdb.sqlite.snapshot`, which
    /// every writer refreshes: CDBSnapshotTests look at it.)
    public func listing() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { !$0.hasSuffix(".snapshot") }.sorted()
    }
}
