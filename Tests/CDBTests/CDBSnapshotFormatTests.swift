import XCTest
@testable import CDB

/// The snapshot's format (``CDBSnapshot``): what is written reads back the
/// same, and every damaged or foreign text is refused with a reason, never
/// a crash and never a partial set of attributes.
final class CDBSnapshotFormatTests: XCTestCase {
    let database = CDBSnapshot.Identity(fields: [1, 2, 3, 4, 5, 6, 7])!
    let attributes = ["port": "80", "label": "a b\nc", "empty": "", "note": "ünïcode = x"]

    func testWhatIsWrittenReadsBack() throws {
        for wal in [nil, CDBSnapshot.Identity(fields: [8, 9, 0, 10, 11, 12, 13])] {
            let bytes = CDBSnapshot.encode(database: database, wal: wal, attributes: attributes)
            guard case .success(let parsed) = CDBSnapshot.parse(bytes) else { return XCTFail("does not parse") }
            XCTAssertEqual(parsed.attributes, attributes)
            XCTAssertEqual(parsed.database, database)
            XCTAssertEqual(parsed.wal, wal)
        }
    }

    func testEveryTruncationAndEveryFlippedByteIsRefusedOrHarmless() {
        let bytes = CDBSnapshot.encode(database: database, wal: nil, attributes: attributes)
        for length in 0..<bytes.count {
            if case .success = CDBSnapshot.parse(Array(bytes[0..<length])) { XCTFail("truncated at \(length) parses") }
        }
        for index in bytes.indices {
            var damaged = bytes
            damaged[index] ^= 0x5a
            if case .success(let parsed) = CDBSnapshot.parse(damaged) {
                // A flip inside a value or an identity number may still parse: it is
                // then a different well-formed snapshot (the identity check decides).
                XCTAssertEqual(parsed.attributes.count, attributes.count, "byte \(index)")
            }
        }
    }

    func testANewerFormatIsNamed() {
        var bytes = CDBSnapshot.encode(database: database, wal: nil, attributes: attributes)
        bytes[CDBSnapshot.magic.utf8.count] = UInt8(ascii: "7")
        guard case .failure(let problem) = CDBSnapshot.parse(bytes) else { return XCTFail("parses") }
        XCTAssertEqual(problem.text, "has a newer format (7; this fshost reads 1)")
    }

    /// A version number too large to read is a newer format too, not a
    /// corrupt header (review of issue 16, finding 4).
    func testAnUnreadablyLargeVersionIsANewerFormat() {
        let bytes = Array((CDBSnapshot.magic + "99999999999999999999\n").utf8)
        guard case .failure(let problem) = CDBSnapshot.parse(bytes) else { return XCTFail("parses") }
        XCTAssertEqual(problem.text, "has a newer format (a version number too large to read; this fshost reads 1)")
        let corrupt = Array((CDBSnapshot.magic + "1x\n").utf8)
        guard case .failure(let other) = CDBSnapshot.parse(corrupt) else { return XCTFail("parses") }
        XCTAssertEqual(other.text, "has a corrupt header")
    }
}
