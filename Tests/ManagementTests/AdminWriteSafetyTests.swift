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
        // Not "no resources" and an empty export with status 0: an empty
        // backup would read as a good one.
        let file = try writeFile("some.toml", "[testfixture.a]\nport = 1\n")
        for arguments in [["cdb", "show"], ["cdb", "show", "testfixture"], ["cdb", "export"],
                          ["cdb", "import", "--dry-run", file]] {
            try fails(arguments, status: 6, ["configuration database \(path) is not initialised"])
        }
        XCTAssertEqual(try run(["cdb", "export"]).stdout, "")
        let action = try fshost(["testfixture", "monitor", "a"])
        XCTAssertEqual(action.status, 6, action.stderr)
        XCTAssertTrue(action.stderr.contains("is not initialised"), action.stderr)
    }
}

extension AdminCommandTests {
    // MARK: - Changing a resource that runs (issue 7, item 4)

    /// `cdb modify webserver w3 pidfile=/other.pid` while nginx ran made
    /// the next stop look elsewhere (stop 0, nginx running): a change of a
    /// plugin attribute of a running resource is refused unless --force,
    /// by modify, modify-type and import alike; host settings may change.
    func testChangingARunningResourceIsRefusedUnlessForcedExceptHostSettings() throws {
        let marker = directory + "/marker", other = directory + "/other"
        try ok(["cdb", "define", "testfixture", "r", "port=1", "marker=\(marker)"])
        try ok(["cdb", "define", "testfixture", "idle", "port=2", "marker=\(directory)/idle"])
        XCTAssertEqual(try fshost(["testfixture", "start", "r"]).status, 0)
        let before = try ok(["cdb", "export"])

        try fails(["cdb", "modify", "testfixture", "r", "marker=\(other)"], status: 4,
                  ["testfixture/r runs on this node", "changing marker", "fshost testfixture stop r", "--force"])
        try fails(["cdb", "modify", "testfixture", "r", "--unset", "marker"], status: 4, ["testfixture/r runs"])
        // A bad change is reported as such first: it is checked before fshost is asked.
        try fails(["cdb", "modify", "testfixture", "r", "colour=red"], status: 2, ["unknown attribute 'colour'"])
        try fails(["cdb", "modify", "testfixture", "r", "--unset", "port"], status: 2, ["required attribute 'port'"])
        try fails(["cdb", "modify-type", "testfixture", "port=x"], status: 2, ["is not a port"])
        // A type-level value reaches the resources without their own.
        try fails(["cdb", "modify-type", "testfixture", "label=moved"], status: 4, ["testfixture/r runs", "changing label"])
        let file = try writeFile("moved.toml", "[testfixture.r]\nport = 1\nmarker = \"\(other)\"\n")
        try fails(["cdb", "import", file], status: 4, ["\(file): testfixture/r runs on this node", "nothing imported"])
        let typeLevel = try writeFile("type.toml", "[testfixture]\nlabel = \"moved\"\n")
        try fails(["cdb", "import", typeLevel], status: 4, ["testfixture/r runs on this node"])
        let dryRun = try run(["cdb", "import", "--dry-run", file])
        XCTAssertEqual(dryRun.status, 4, dryRun.stderr)
        XCTAssertEqual(dryRun.stdout, """
            change testfixture/r (runs on this node: level 1 monitor succeeds)
            0 to add, 1 to change, 0 to remove, 0 unchanged; nothing written (dry run)

            """)
        XCTAssertEqual(try ok(["cdb", "export"]), before, "nothing changed")

        // Host settings only say how long and how deep fshost looks.
        try ok(["cdb", "modify", "testfixture", "r", "monitor_timeout=3s", "retries=2", "monitor_level=1"])
        try ok(["cdb", "modify-type", "testfixture", "stop_timeout=4s"])
        // A resource that does not run may change; so may a type-level key
        // the running resource overrides itself.
        try ok(["cdb", "modify", "testfixture", "idle", "marker=\(other)"])
        try ok(["cdb", "modify-type", "testfixture", "marker=\(other)"])

        // --force changes it and says what may be left running.
        let forced = try run(["cdb", "modify", "testfixture", "r", "marker=\(other)", "--force"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertTrue(forced.stderr.contains("warning: testfixture/r was changed (marker) while it runs on this node"),
                      forced.stderr)
        XCTAssertTrue(forced.stderr.contains("left running"), forced.stderr)
        XCTAssertEqual(try ok(["cdb", "get", "testfixture", "r", "marker"]), other + "\n")
    }

    // MARK: - Secrets survive export and import (issue 7, item 4)

    /// A default export leaves secrets out; importing it erased them ("2
    /// replaced", status 0). Now the stored secret is kept, named in the
    /// summary and the dry run; --replace-secrets removes it, named too.
    func testExportThenImportKeepsSecretsAndSaysSo() throws {
        let absent = "marker=\(directory)/absent"  // not running: an import may change it
        try ok(["cdb", "define", "testfixture", "rt", "port=1", "password=abc", absent])
        try ok(["cdb", "define", "testfixture", "plain", "port=2", absent])
        let exported = directory + "/x.toml"
        let export = try run(["cdb", "export", "--output", exported])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertTrue(export.stderr.contains("importing this file keeps the stored values"), export.stderr)
        let text = try String(contentsOfFile: exported, encoding: .utf8)
        XCTAssertFalse(text.contains("abc"), text)

        XCTAssertEqual(try ok(["cdb", "import", "--dry-run", exported]), """
            keep secret testfixture.rt.password (not in the file: the stored value stays)
            0 to add, 0 to change, 0 to remove, 2 unchanged; nothing written (dry run)

            """)
        XCTAssertEqual(try ok(["cdb", "import", exported]),
                       "imported \(exported): 0 defined, 2 replaced; secrets not in the file kept: testfixture.rt.password\n")
        XCTAssertEqual(try ok(["cdb", "get", "testfixture", "rt", "password"]), "abc\n")
        XCTAssertEqual(try ok(["cdb", "export", "--include-secrets"]).contains("password = \"abc\""), true)
        // --replace-all keeps it too: the resource is in the file.
        try ok(["cdb", "import", "--replace-all", exported])
        XCTAssertEqual(try ok(["cdb", "get", "testfixture", "rt", "password"]), "abc\n")

        // On purpose: the file is exact for secrets too, and says so.
        XCTAssertEqual(try ok(["cdb", "import", "--dry-run", "--replace-secrets", exported]), """
            change testfixture/rt
            remove secret testfixture.rt.password (not in the file, --replace-secrets)
            0 to add, 1 to change, 0 to remove, 1 unchanged; nothing written (dry run)

            """)
        XCTAssertEqual(try ok(["cdb", "import", "--replace-secrets", exported]),
                       "imported \(exported): 0 defined, 2 replaced; secrets not in the file removed: testfixture.rt.password\n")
        try fails(["cdb", "get", "testfixture", "rt", "password"], status: 6, ["is not set"])
    }

    // MARK: - Admin messages cannot be forged or flooded (issue 7, item 8)

    /// A value with a newline printed a second line that read like an
    /// action's success; a 100 KB value was echoed whole; an import key
    /// with a newline too; `show` printed ESC sequences raw.
    func testAdminMessagesAreEscapedAndBoundedAndShowEscapesValues() throws {
        let forged = "fshost: template/t1 start: HA_SUCCESS (1 ms)"
        try fails(["cdb", "define", "testfixture", "q1", "port=1", "monitor_timeout=5\n" + forged], status: 2,
                  ["'5\\nfshost: template/t1 start: HA_SUCCESS (1 ms)'"])
        let huge = String(repeating: "9", count: 100_000)
        let flood = try run(["cdb", "define", "testfixture", "q2", "port=" + huge])
        XCTAssertEqual(flood.status, 2, flood.stderr)
        XCTAssertEqual(flood.stderr.filter { $0 == "\n" }.count, 1)
        XCTAssertLessThan(flood.stderr.utf8.count, 4200, "bounded to 4 KiB")
        XCTAssertTrue(flood.stderr.contains("bytes cut)"), String(flood.stderr.suffix(80)))
        let file = try writeFile("forged.toml", "[testfixture.q3]\nport = 1\n\"bad\\nfshost: forged\\u001B[2K\" = 1\n"
            + "label = \"x\"\n")
        try fails(["cdb", "import", file], status: 2, ["unknown attribute 'bad\\nfshost: forged\\x1B[2K'"])

        // show escapes control characters in values; get prints the value
        // as stored (it is for scripts).
        try ok(["cdb", "define", "testfixture", "e", "port=1", "label=\u{1B}[2Kline\nnext"])
        for arguments in [["cdb", "show"], ["cdb", "show", "testfixture"], ["cdb", "show", "testfixture", "e"]] {
            let shown = try ok(arguments)
            XCTAssertFalse(shown.contains("\u{1B}"), "\(arguments): \(shown)")
            XCTAssertTrue(shown.contains("label = \\x1B[2Kline\\nnext") || shown.contains("= \\x1B[2Kline\\nnext"),
                          "\(arguments): \(shown)")
        }
        XCTAssertEqual(try ok(["cdb", "get", "testfixture", "e", "label"]), "\u{1B}[2Kline\nnext\n")
    }

    // MARK: - Import reads a bounded regular file (issue 7, item 4)

    /// `cdb import --dry-run /dev/zero` allocated without bound (an OOM, or
    /// a 134 with a backtrace): a non-regular file and one over 16 MiB are
    /// status 2, and a FIFO without a writer does not hang.
    func testImportRefusesANonRegularOrOversizedFile() throws {
        try ok(["cdb", "define", "testfixture", "a", "port=1"])
        let fifo = directory + "/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        for (file, kind) in [("/dev/zero", "a character device"), (fifo, "a FIFO"), (directory, "a directory")] {
            for dryRun in [["--dry-run"], []] {
                try fails(["cdb", "import"] + dryRun + [file], status: 2, ["\(file): not a regular file (\(kind))"])
            }
        }
        let big = directory + "/big.toml"
        XCTAssertTrue(FileManager.default.createFile(atPath: big, contents: nil))
        XCTAssertEqual(truncate(big, off_t(16 << 20) + 1), 0)
        try fails(["cdb", "import", big], status: 2, ["\(big): larger than 16 MiB"])
        // Standard input is bounded while it is read.
        try fails(["cdb", "import", "-"], status: 2, ["-: larger than 16 MiB"],
                  input: "# " + String(repeating: "x", count: (16 << 20) + 10) + "\n")
        XCTAssertEqual(try ok(["cdb", "get", "testfixture", "a", "port"]), "1\n")
    }

    // MARK: - Relative CDB paths (issue 7, item 7)

    /// `cd /root/db; fshost cdb define … --cdb cdb.sqlite` worked, and then
    /// the action path (asked by delete) refused the relative path: the
    /// admin refuses it too, with the action path's status 9, and the other
    /// relative FSHOST_* paths before it writes anything.
    func testARelativeCDBPathIsRefusedWithStatusNineLikeTheActionPath() throws {
        for arguments in [["cdb", "define", "template", "rr"], ["cdb", "show"], ["cdb", "export"]] {
            let relative = try run(executable: admin, arguments + ["--cdb", "cdb.sqlite"], cdb: path, input: nil, stdout: nil)
            XCTAssertEqual(relative.status, 9, relative.stderr)
            XCTAssertEqual(relative.stderr, "fshost: --cdb (the configuration database) must be an absolute path, not "
                + "'cdb.sqlite': fshost refuses relative paths, which mean another file in every working directory\n")
            let environment = try run(executable: admin, arguments, cdb: "db/cdb.sqlite", input: nil, stdout: nil)
            XCTAssertEqual(environment.status, 9, environment.stderr)
            XCTAssertTrue(environment.stderr.hasPrefix("fshost: FSHOST_CDB (the configuration database) must be an absolute path, "
                + "not 'db/cdb.sqlite'"), environment.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/cdb.sqlite"), "nothing created")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/db"))
        // The state directory (delete removes a resource's) and the others
        // the action path checks: refused before the CDB changes.
        try ok(["cdb", "define", "testfixture", "a", "port=1", "marker=\(directory)/absent"])
        for variable in ["FSHOST_STATE_DIR", "FSHOST_RUN_DIR", "FSHOST_PLUGIN_PATH"] {
            let result = try run(executable: admin, ["cdb", "delete", "testfixture", "a", "--cdb", path], cdb: path,
                                 input: nil, stdout: nil, environment: [variable: "relative"])
            XCTAssertEqual(result.status, 9, result.stderr)
            XCTAssertTrue(result.stderr.hasPrefix("fshost: \(variable) "), result.stderr)
            XCTAssertTrue(result.stderr.contains("must be an absolute path, not 'relative'"), result.stderr)
        }
        XCTAssertEqual(try ok(["cdb", "get", "testfixture", "a", "port"]), "1\n", "still defined")
    }

    // MARK: - Temporary files of killed exports (issue 7, item 9)

    /// An export killed mid-write left `.x.toml.tmp-XXXXXX` (0600) behind
    /// for good: the name now carries the writer's pid, and the next export
    /// to that file removes those of writers that no longer run, never one
    /// of a live writer or of another file.
    func testAnExportRemovesTheTemporaryFilesOfKilledExports() throws {
        try ok(["cdb", "define", "testfixture", "a", "port=1"])
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        let dead = ended.processIdentifier, live = getpid()
        let stale = try writeFile(".x.toml.tmp-\(dead)-AbC123", "half an exp")
        let writing = try writeFile(".x.toml.tmp-\(live)-DeF456", "being written")
        let otherFile = try writeFile(".y.toml.tmp-\(dead)-GhI789", "not ours")
        XCTAssertEqual(try ok(["cdb", "export", "--output", directory + "/x.toml"]), "")
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale), "the dead writer's temporary file is removed")
        XCTAssertTrue(FileManager.default.fileExists(atPath: writing), "a live writer's is kept")
        XCTAssertTrue(FileManager.default.fileExists(atPath: otherFile), "another file's is kept")
        XCTAssertEqual(listing().filter { $0.hasPrefix(".x.toml.tmp-") }, [".x.toml.tmp-\(live)-DeF456"])
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
