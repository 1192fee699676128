import Foundation
import TestSupport
import XCTest
@testable import CDB
@testable import Management

/// Admin writes fail loudly and never destroy (issue 7, item 4), and a
/// resource leaves no state behind (item 9): the built `fshost-admin` (and
/// `fshost` for the actions), as an operator runs them.
extension AdminCommandTests {
    // MARK: - Output that cannot be written

    func testOutputToAFullDeviceIsStatusThreeNotASilentZero() throws {
        try ok(["cdb", "define", "testfixture", "a", "port=1"])
        for arguments in [["cdb", "export"], ["cdb", "show"], ["cdb", "get", "testfixture", "a", "port"]] {
            let full = try XCTUnwrap(FileHandle(forWritingAtPath: "/dev/full"))
            let result = try run(arguments, stdout: full)
            XCTAssertEqual(result.status, 3, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr, "fshost: cannot write standard output: No space left on device\n", "\(arguments)")
        }
    }

    // MARK: - export --output

    func testExportOutputReplacesOnlyARegularFileAndWritesItPrivately() throws {
        try ok(["cdb", "define", "testfixture", "a", "port=1", "label=secret"])
        let exported = try ok(["cdb", "export"])

        // A symlink is refused, not followed and not replaced.
        let target = try writeFile("target", "precious\n")
        let link = directory + "/link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        try fails(["cdb", "export", "--output", link], status: 2, ["refusing to write \(link): it is a symbolic link"])
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), target)
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "precious\n")

        // A character device (as root, --output /dev/full once replaced the
        // system's device), a FIFO and a directory are refused.
        let device = directory + "/full"
        XCTAssertEqual(mknod(device, S_IFCHR | 0o600, dev_t(1 << 8 | 7) /* makedev(1, 7): /dev/full */), 0, "mknod: \(String(cString: strerror(errno)))")
        let fifo = directory + "/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let subdirectory = directory + "/sub"
        try FileManager.default.createDirectory(atPath: subdirectory, withIntermediateDirectories: false)
        for (path, kind) in [(device, "a character device"), (fifo, "a FIFO"), (subdirectory, "a directory")] {
            try fails(["cdb", "export", "--output", path], status: 2, ["refusing to write \(path): it is \(kind)"])
        }
        var st = stat()
        XCTAssertEqual(lstat(device, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR, "the device node is still a device node")
        XCTAssertEqual(lstat(fifo, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFIFO)

        // A new file, and an existing 0644 one, become 0600 with the export.
        let fresh = directory + "/fresh.toml"
        let old = try writeFile("old.toml", "old\n")
        XCTAssertEqual(chmod(old, 0o644), 0)
        for file in [fresh, old] {
            XCTAssertEqual(try ok(["cdb", "export", "--output", file]), "")
            XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), exported)
            XCTAssertEqual(lstat(file, &st), 0)
            XCTAssertEqual(st.st_mode & 0o7777, 0o600, file)
            XCTAssertEqual(st.st_mode & S_IFMT, S_IFREG)
        }
        // No temporary file is left behind, refused or not.
        XCTAssertEqual(listing().filter { $0.contains(".tmp") }, [])
    }

    // MARK: - Malformed TOML

    func testATableHeaderWithoutANameIsStatusTwoWithItsLocationNotAnAbort() throws {
        // toml++ asserts on these (exit 134 before): "[" then a line break.
        for (text, location) in [("[\n", "1:2"), ("[testfixture.a]\nport = 1\n[\n", "3:2"), ("[ \n", "1:3"),
                                 ("[[\n", "1:3"), ("a = 1\n[\r\n", "2:2")] {
            let file = try writeFile("header.toml", text)
            try fails(["cdb", "import", file], status: 2, ["\(file):\(location): TOML syntax error"])
        }
    }

    /// A few hundred malformed inputs, from truncations of a valid file and
    /// from bytes of TOML's alphabet: never a crash, and a syntax error is
    /// always status 2 with FILE:LINE:COL. Bounded: a fixed seed, 300 runs.
    func testFuzzedTOMLNeverCrashesTheAdminTool() throws {
        try ok(["cdb", "define", "testfixture", "keep", "port=1"])
        let before = try ok(["cdb", "export"])
        var generator = SeededGenerator(seed: 7)
        var inputs: [[UInt8]] = []
        let valid = Array(rich.utf8)
        for i in 1...150 { inputs.append(Array(valid.prefix(valid.count * i / 151))) }
        let alphabet = Array("[]{}=\"'.,\n\r\t #a1-_tf\\:+".utf8)
        for _ in 0..<100 {
            let count = Int.random(in: 1...40, using: &generator)
            inputs.append((0..<count).map { _ in alphabet.randomElement(using: &generator)! })
        }
        for _ in 0..<50 {
            var bytes = valid
            let at = Int.random(in: 0..<bytes.count, using: &generator)
            bytes.insert(contentsOf: Array(["[\n", "[", "]", "=", "\"", "\u{0}", "[[", "{", "\u{FF}"]
                .randomElement(using: &generator)!.utf8), at: at)
            inputs.append(bytes)
        }
        XCTAssertEqual(inputs.count, 300)
        var syntaxErrors = 0
        var parserAborts = 0
        let file = directory + "/fuzz.toml"
        for (index, bytes) in inputs.enumerated() {
            XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data(bytes)))
            let result = try run(["cdb", "import", "--dry-run", file])
            // 0: it parsed (a prefix ending between tables is valid TOML);
            // 2: bad file or value; 5: a table names an unknown type.
            XCTAssertTrue([0, 2, 5].contains(result.status), "input \(index) \(bytes): status \(result.status): \(result.stderr)")
            if result.stderr.contains("TOML syntax error") {
                syntaxErrors += 1
                XCTAssertEqual(result.status, 2)
                XCTAssertNotNil(result.stderr.range(of: #"^fshost: \#(file):[0-9]+:[0-9]+: TOML syntax error"#,
                                                    options: .regularExpression), result.stderr)
                if result.stderr.contains("aborted") { parserAborts += 1 }
            }
            if result.status != 0 {
                XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, "one line: \(result.stderr)")
            }
        }
        XCTAssertGreaterThan(syntaxErrors, 150, "most of these are not TOML")
        XCTAssertGreaterThan(parserAborts, 0, "some hit the parser's assertions, which the guard turned into status 2")
        XCTAssertEqual(try ok(["cdb", "export"]), before, "dry runs wrote nothing")
    }

    // MARK: - --replace-all of an empty file

    func testReplaceAllOfAnEmptyFileIsRefusedUnlessAllowEmpty() throws {
        try ok(["cdb", "define", "testfixture", "a", "port=1", "marker=\(directory)/absent"])
        let before = try ok(["cdb", "export"])
        let empty = try writeFile("empty.toml", "")
        try fails(["cdb", "import", "--replace-all", empty], status: 2,
                  ["\(empty): the file defines no resources", "--allow-empty", "nothing imported"])
        XCTAssertEqual(try ok(["cdb", "export"]), before)
        XCTAssertEqual(try ok(["cdb", "import", "--replace-all", "--allow-empty", empty]),
                       "imported \(empty): 0 defined, 0 replaced, 1 removed\n")
        XCTAssertEqual(try ok(["cdb", "export"]), "")
    }

    // MARK: - Removing a resource that runs

    func testDeleteAndImportRefuseToDropARunningResourceUnlessForced() throws {
        let marker = directory + "/marker"
        try ok(["cdb", "define", "testfixture", "r", "port=1", "marker=\(marker)"])
        XCTAssertEqual(try fshost(["testfixture", "start", "r"]).status, 0)

        try fails(["cdb", "delete", "testfixture", "r"], status: 4,
                  ["testfixture/r runs on this node", "fshost testfixture stop r", "--force"])
        XCTAssertEqual(try ok(["cdb", "get", "testfixture", "r", "port"]), "1\n", "still defined")

        // An import that would drop it: refused too, and --dry-run says so.
        let other = try writeFile("other.toml", "[testfixture.n]\nport = 2\n")
        try fails(["cdb", "import", "--replace-all", other], status: 4, ["\(other): testfixture/r runs on this node"])
        XCTAssertEqual(try ok(["cdb", "get", "testfixture", "r", "port"]), "1\n")
        let dryRun = try run(["cdb", "import", "--replace-all", "--dry-run", other])
        XCTAssertEqual(dryRun.status, 4, dryRun.stderr)
        XCTAssertEqual(dryRun.stdout, """
            add testfixture/n
            remove testfixture/r (runs on this node: level 1 monitor succeeds)
            1 to add, 0 to change, 1 to remove, 0 unchanged; nothing written (dry run)

            """)

        // Stopped, it goes without --force.
        XCTAssertEqual(try fshost(["testfixture", "stop", "r"]).status, 0)
        XCTAssertEqual(try run(["cdb", "import", "--replace-all", "--dry-run", other]).status, 0)
        XCTAssertEqual(try fshost(["testfixture", "start", "r"]).status, 0)

        // --force deletes it and says what is left running.
        let forced = try run(["cdb", "delete", "testfixture", "r", "--force"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertTrue(forced.stderr.contains("warning: testfixture/r was removed while it runs on this node"), forced.stderr)
        XCTAssertTrue(forced.stderr.contains("left running"), forced.stderr)
        try fails(["cdb", "get", "testfixture", "r", "port"], status: 6, ["no resource 'r'"])
    }

    func testDeleteWhenFshostCannotTellNeedsForce() throws {
        // A resource of a type whose plugin is gone: exclusive cannot answer.
        try writer().define(type: "gone", resource: "x", attributes: [:])
        try fails(["cdb", "delete", "gone", "x"], status: 3,
                  ["cannot tell whether gone/x runs", "HA_NOTSUPPORTED", "--force"])
        let forced = try run(["cdb", "delete", "gone", "x", "--force"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertTrue(forced.stderr.contains("without knowing whether it runs"), forced.stderr)
    }

    // MARK: - State goes with the resource

    func testDeleteAndReplaceAllRemoveTheStateSoANewResourceStartsClean() throws {
        let state = directory + "/state/testfixture/f"
        let marker = directory + "/marker"
        let attributes = ["port=1", "marker=\(marker)", "fail_probes=1"]
        try ok(["cdb", "define", "testfixture", "f"] + attributes)
        // With its marker (level 1) the flaky level 2 fails its first probe
        // and records that in its state; without the marker it does not run.
        XCTAssertTrue(FileManager.default.createFile(atPath: marker, contents: nil))
        XCTAssertEqual(try fshost(["testfixture", "monitor", "f", "--level", "2"]).status, 3)
        XCTAssertTrue(FileManager.default.fileExists(atPath: state + "/failed"))
        try FileManager.default.removeItem(atPath: marker)
        try ok(["cdb", "delete", "testfixture", "f"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: state), "state removed with the resource")
        // A new resource of the same name starts clean: its first probe fails again.
        try ok(["cdb", "define", "testfixture", "f"] + attributes)
        XCTAssertTrue(FileManager.default.createFile(atPath: marker, contents: nil))
        XCTAssertEqual(try fshost(["testfixture", "monitor", "f", "--level", "2"]).status, 3, "did not inherit the state")
        XCTAssertEqual(try fshost(["testfixture", "monitor", "f", "--level", "2"]).status, 0)
        try FileManager.default.removeItem(atPath: marker)

        // A replace-all import that drops it removes its state too; a link
        // planted in it is removed, not followed.
        let outside = try writeFile("outside", "kept\n")
        try FileManager.default.createSymbolicLink(atPath: state + "/planted", withDestinationPath: outside)
        let other = try writeFile("other.toml", "[testfixture.g]\nport = 2\nmarker = \"\(directory)/absent\"\n")
        try ok(["cdb", "import", "--replace-all", other])
        XCTAssertFalse(FileManager.default.fileExists(atPath: state))
        XCTAssertEqual(try String(contentsOfFile: outside, encoding: .utf8), "kept\n")

        // Leftover state from an older fshost's delete does not reach a new resource.
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        try "1".write(toFile: state + "/failed", atomically: false, encoding: .utf8)
        try ok(["cdb", "define", "testfixture", "f"] + attributes)
        XCTAssertFalse(FileManager.default.fileExists(atPath: state))
    }

    // MARK: - A CDB that was never set up

    func testAnUninitialisedCDBIsSaidToBeSo() throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(), attributes: [.posixPermissions: 0o600]))
        try fails(["cdb", "get", "testfixture", "a", "port"], status: 6,
                  ["configuration database \(path) is not initialised", "fshost cdb define", "fshost cdb import"])
        try fails(["cdb", "show", "testfixture", "a"], status: 6, ["is not initialised"])
        let action = try fshost(["testfixture", "monitor", "a"])
        XCTAssertEqual(action.status, 6, action.stderr)
        XCTAssertTrue(action.stderr.contains("is not initialised"), action.stderr)
    }
}

/// A small deterministic generator (SplitMix64), so the fuzz inputs are the
/// same on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
