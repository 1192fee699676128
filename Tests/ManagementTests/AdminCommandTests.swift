import ArgvText
import Foundation
import TestSupport
import XCTest
@testable import CDB
@testable import Management

/// `fshost cdb ...` end to end: the built `fshost-admin` run as a process,
/// with `--cdb` in a temporary directory and the `testfixture` plugin from
/// this build (FSHOST_PLUGIN_PATH = the products directory). This is where
/// the TOMLKit half of import/export (parsing, syntax errors with lines)
/// is tested.
final class AdminCommandTests: CDBTestCase {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let products: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = (exe as NSString).deletingLastPathComponent
        if dir.hasSuffix(".xctest") { dir = (dir as NSString).deletingLastPathComponent }
        return dir
    }()

    var admin: String { Self.products + "/fshost-admin" }

    override func setUpWithError() throws {
        try super.setUpWithError()
        // A set-up that cannot run these tests fails them: never a skip.
        struct Unusable: Error, CustomStringConvertible { var description: String }
        guard FileManager.default.isExecutableFile(atPath: admin) else {
            throw SetupFailure("fshost-admin is not built next to the tests (\(Self.products)); run swift build --build-tests")
        }
        guard FileManager.default.fileExists(atPath: Self.products + "/libtestfixture.so") else {
            throw SetupFailure("libtestfixture.so is not built in \(Self.products)")
        }
        // `cdb` works and the plugin loader gives testfixture's schema: if
        // not, every test here would fail for the same reason; say it once.
        let probe = try run(["cdb", "define", "testfixture", "probe", "port=1"], cdb: directory + "/probe.sqlite")
        guard probe.status == 0 else {
            throw Unusable(description: "fshost-admin cdb define testfixture failed: status \(probe.status): \(probe.stderr)")
        }
    }

    /// Runs `fshost-admin ARGS --cdb <temp>` (stdin from `input`; stdout to
    /// `stdout` when given, else captured).
    func run(_ arguments: [String], cdb: String? = nil, input: String? = nil, stdout: FileHandle? = nil) throws -> Run {
        try run(executable: admin, arguments + ["--cdb", cdb ?? path], cdb: cdb, input: input, stdout: stdout)
    }

    /// Runs the `fshost` executable of this build (the action path) with
    /// the same environment.
    func fshost(_ arguments: [String]) throws -> Run {
        try run(executable: Self.products + "/fshost", arguments, cdb: nil, input: nil, stdout: nil)
    }

    func run(executable: String, _ arguments: [String], cdb: String?, input: String?, stdout: FileHandle?,
             environment extra: [String: String] = [:]) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["FSHOST_PLUGIN_PATH"] = Self.products
        environment["FSHOST_CDB"] = cdb ?? path
        // The exclusive action `cdb delete` asks takes its lock here, and
        // state directories live here.
        environment["FSHOST_RUN_DIR"] = directory + "/run"
        environment["FSHOST_STATE_DIR"] = directory + "/state"
        environment.merge(extra) { _, given in given }
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let out = Pipe(), err = Pipe(), inPipe = Pipe()
        process.standardOutput = stdout ?? out
        process.standardError = err
        process.standardInput = inPipe
        try process.run()
        if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
        try inPipe.fileHandleForWriting.close()
        // With its own stdout, the pipe's write end stays open here: do not wait for it.
        let stdout = stdout == nil ? out.fileHandleForReading.readDataToEndOfFile() : Data()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }

    @discardableResult
    func ok(_ arguments: [String], cdb: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try run(arguments, cdb: cdb)
        XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderr)", file: file, line: line)
        return result.stdout
    }

    /// Asserts status and a one-line `fshost: ` message containing `parts`.
    func fails(_ arguments: [String], status: Int32, _ parts: [String], input: String? = nil,
               file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try run(arguments, input: input)
        XCTAssertEqual(result.status, status, "\(arguments): \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("fshost: "), result.stderr, file: file, line: line)
        XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, "one line: \(result.stderr)", file: file, line: line)
        for part in parts {
            XCTAssertTrue(result.stderr.contains(part), "'\(part)' not in: \(result.stderr)", file: file, line: line)
        }
    }

    func writeFile(_ name: String, _ text: String) throws -> String {
        let file = directory + "/" + name
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        return file
    }

    /// A file with every kind, a type-level table, quoted names and odd strings.
    let rich = #"""
        # resources under version control
        [testfixture]
        retries = 2
        monitor_timeout = "3s"

        [testfixture.alpha]
        port = 8080
        enabled = false
        hang = "250ms"
        fail_probes = 3
        label = 'literal \ backslash and "quotes"'
        command = ["/bin/sh", "-c", 'echo "hi" \ there', "tab\there", "ünïcode"]
        marker = "/run/fshost-test/alpha"

        [testfixture."web.2"]
        port = 1
        label = """
        two
        lines"""
        """#

    // MARK: - TOML import / export

    func testExportImportExportIsByteIdentical() throws {
        let source = try writeFile("rich.toml", rich)
        XCTAssertEqual(try ok(["cdb", "import", source]), "imported \(source): 2 defined, 0 replaced\n")
        let first = directory + "/first.toml"
        XCTAssertEqual(try ok(["cdb", "export", "--output", first]), "")
        let exported = try String(contentsOfFile: first, encoding: .utf8)
        XCTAssertEqual(exported, #"""
            [testfixture]
            monitor_timeout = "3000ms"
            retries = 2

            [testfixture.alpha]
            command = ["/bin/sh", "-c", "echo \"hi\" \\ there", "tab\there", "ünïcode"]
            enabled = false
            fail_probes = 3
            hang = "250ms"
            label = "literal \\ backslash and \"quotes\""
            marker = "/run/fshost-test/alpha"
            port = 8080

            [testfixture."web.2"]
            label = "two\nlines"
            port = 1

            """#)

        // Into a fresh CDB and out again: the same bytes.
        let second = directory + "/second.sqlite"
        try ok(["cdb", "import", first], cdb: second)
        XCTAssertEqual(try ok(["cdb", "export"], cdb: second), exported)
        // Into the same CDB (replacing): unchanged.
        XCTAssertEqual(try ok(["cdb", "import", first]), "imported \(first): 0 defined, 2 replaced\n")
        XCTAssertEqual(try ok(["cdb", "export"]), exported)
        // One type only; standard input.
        XCTAssertEqual(try ok(["cdb", "export", "testfixture"]), exported)
        let third = directory + "/third.sqlite"
        XCTAssertEqual(try run(["cdb", "import", "-"], cdb: third, input: exported).status, 0)
        XCTAssertEqual(try ok(["cdb", "export"], cdb: third), exported)
    }

    func testArgvWithQuotesAndBackslashesRoundTrips() throws {
        let words = [#"a "quoted" word"#, #"back\slash"#, #"\"both\\"#, "new\nline", ""]
        let argv = ArgvText.format(words)
        try ok(["cdb", "define", "testfixture", "q", "port=5", "command=" + argv])
        XCTAssertEqual(try ok(["cdb", "get", "testfixture", "q", "command"]), argv + "\n")
        let exported = try ok(["cdb", "export"])
        XCTAssertTrue(exported.contains(#"command = ["a \"quoted\" word", "back\\slash", "\\\"both\\\\", "new\nline", ""]"#),
                      exported)
        let other = directory + "/other.sqlite"
        XCTAssertEqual(try run(["cdb", "import", "-"], cdb: other, input: exported).status, 0)
        XCTAssertEqual(try ok(["cdb", "get", "testfixture", "q", "command"], cdb: other), argv + "\n")
        XCTAssertEqual(try ok(["cdb", "export"], cdb: other), exported)
    }

    func testSyntaxErrorNamesFileAndLineAndImportsNothing() throws {
        try ok(["cdb", "define", "testfixture", "keep", "port=1"])
        let before = try ok(["cdb", "export"])
        let bad = try writeFile("bad.toml", """
            [testfixture.a]
            port = 1

            [testfixture.b]
            port = = 2
            """)
        try fails(["cdb", "import", bad], status: 2, [bad + ":5:", "TOML syntax error"])
        let duplicate = try writeFile("dup.toml", "[testfixture.a]\nport = 1\n\n\n[testfixture.a]\nport = 2\n")
        try fails(["cdb", "import", duplicate], status: 2, [duplicate + ":5:"])
        XCTAssertEqual(try ok(["cdb", "export"]), before)
        try fails(["cdb", "import", directory + "/missing.toml"], status: 2, ["missing.toml", "No such file"])
    }

    func testSchemaViolationsImportNothing() throws {
        try ok(["cdb", "define", "testfixture", "keep", "port=1", "label=kept"])
        let before = try ok(["cdb", "export"])
        let cases: [(String, [String])] = [
            ("[testfixture.new]\nport = 2\n[testfixture.zz]\nport = 3\ncolour = \"red\"\n",
             ["resource 'zz' of type 'testfixture'", "unknown attribute 'colour'", "nothing imported"]),
            ("[testfixture.keep]\nport = 2\n[testfixture.zz]\nport = \"3\"\n",
             ["resource 'zz'", "attribute 'port' must be an integer (port), not a TOML string"]),
            ("[testfixture.keep]\nport = 2\n[testfixture.zz]\nenabled = true\n",
             ["resource 'zz'", "required attribute 'port' is not set"]),
            ("[testfixture.zz]\nport = 3\ncommand = \"echo hi\"\n",
             ["resource 'zz'", "attribute 'command' must be an array of strings"]),
            ("[testfixture.zz]\nport = 3\nhang = 1.5\n", ["attribute 'hang'", "TOML float"]),
            ("[testfixture]\nnope = 1\n", ["type-level attributes of type 'testfixture'", "unknown attribute 'nope'"]),
        ]
        for (index, (text, parts)) in cases.enumerated() {
            let file = try writeFile("case\(index).toml", text)
            try fails(["cdb", "import", file], status: 2, [file + ": "] + parts)
            XCTAssertEqual(try ok(["cdb", "export"]), before, "case \(index) changed the CDB")
        }
        let unknownType = try writeFile("unknown.toml", "[nosuchtype.a]\nx = 1\n")
        try fails(["cdb", "import", unknownType], status: 5, ["nosuchtype"])
        XCTAssertEqual(try ok(["cdb", "export"]), before)
    }

    func testReplaceAll() throws {
        try ok(["cdb", "define", "testfixture", "old", "port=1", "marker=\(directory)/absent"])  // not running
        try ok(["cdb", "modify-type", "testfixture", "retries=4"])
        let file = try writeFile("only.toml", "[testfixture.new]\nport = 2\n")
        XCTAssertEqual(try ok(["cdb", "import", "--replace-all", file]), "imported \(file): 1 defined, 0 replaced, 1 removed\n")
        XCTAssertEqual(try ok(["cdb", "export"]), "[testfixture.new]\nport = 2\n")
    }

    // MARK: - define / modify / delete / show / get

    func testCommandsAndExitStatuses() throws {
        // Not running (its marker is absent): modify and delete need no --force.
        try ok(["cdb", "define", "testfixture", "alpha", "port=8080", "hang=1s", "label=a=b", "marker=\(directory)/absent"])
        try fails(["cdb", "define", "testfixture", "alpha", "port=1"], status: 2, ["'alpha'", "already exists"])
        try fails(["cdb", "define", "testfixture", "beta", "label=x"], status: 2, ["resource 'beta'", "required attribute 'port'"])
        try fails(["cdb", "define", "testfixture", "beta", "port=x"], status: 2, ["attribute 'port' is not a port"])
        try fails(["cdb", "define", "testfixture", "beta", "port=1", "colour=red"], status: 2, ["unknown attribute 'colour'"])
        try fails(["cdb", "define", "testfixture", "beta", "port"], status: 2, ["expected key=value, got 'port'"])
        try fails(["cdb", "define", "testfixture", "a/b", "port=1"], status: 2, ["invalid resource name 'a/b'"])
        try fails(["cdb", "define", "nosuchtype", "beta", "port=1"], status: 5, ["nosuchtype"])

        try ok(["cdb", "modify", "testfixture", "alpha", "fail_probes=2", "--unset", "hang"])
        try fails(["cdb", "modify", "testfixture", "alpha", "--unset", "port"], status: 2, ["required attribute 'port'"])
        try fails(["cdb", "modify", "testfixture", "ghost", "port=1"], status: 6, ["no resource 'ghost' of type 'testfixture'"])
        try fails(["cdb", "modify", "testfixture", "alpha"], status: 2, ["nothing to change"])
        try ok(["cdb", "modify-type", "testfixture", "monitor_timeout=2s"])

        XCTAssertEqual(try ok(["cdb", "get", "testfixture", "alpha", "label"]), "a=b\n")
        XCTAssertEqual(try ok(["cdb", "get", "testfixture", "alpha", "hang"]), "0ms\n", "the plugin's default")
        XCTAssertEqual(try ok(["cdb", "get", "testfixture", "alpha", "monitor_timeout"]), "2000ms\n", "type-level")
        XCTAssertEqual(try ok(["cdb", "get", "testfixture", "alpha", "stop_timeout"]), "5000ms\n", "the descriptor's default")
        try fails(["cdb", "get", "testfixture", "alpha", "password"], status: 6, ["'password'", "not set"])
        try fails(["cdb", "get", "testfixture", "alpha", "colour"], status: 2, ["unknown attribute 'colour'"])
        try fails(["cdb", "get", "testfixture", "ghost", "port"], status: 6, ["ghost"])

        XCTAssertEqual(try ok(["cdb", "show"]), """
            testfixture
              type-level:
                monitor_timeout = 2000ms
              resource alpha:
                fail_probes = 2
                label       = a=b
                marker      = \(directory)/absent
                port        = 8080

            """)
        let shown = try ok(["cdb", "show", "testfixture", "alpha"])
        XCTAssertTrue(shown.hasPrefix("resource alpha of type testfixture\n"), shown)
        func line(_ key: String) -> String {
            shown.split(separator: "\n").map(String.init).first { $0.hasPrefix("  \(key) ") } ?? "(no \(key))"
        }
        XCTAssertTrue(line("port").hasSuffix(" = 8080"), line("port"))
        XCTAssertTrue(line("monitor_timeout").contains(" = 2000ms ") && line("monitor_timeout").hasSuffix("(type-level)"),
                      line("monitor_timeout"))
        XCTAssertTrue(line("enabled").contains(" = true ") && line("enabled").hasSuffix("(default)"), line("enabled"))
        try fails(["cdb", "show", "testfixture", "ghost"], status: 6, ["ghost"])

        try ok(["cdb", "delete", "testfixture", "alpha"])
        try fails(["cdb", "delete", "testfixture", "alpha"], status: 6, ["no resource 'alpha'"])
        XCTAssertEqual(try ok(["cdb", "show", "testfixture"]), "testfixture\n  type-level:\n    monitor_timeout = 2000ms\n")
    }

    func testUnusableDatabaseExitsSix() throws {
        try "not a database\n".write(toFile: path, atomically: false, encoding: .utf8)
        try fails(["cdb", "show"], status: 6, [path, "not a usable fshost configuration database"])
        try fails(["cdb", "define", "testfixture", "a", "port=1"], status: 6, [path])
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "not a database\n")
        unlink(path)
        try fails(["cdb", "get", "testfixture", "a", "port"], status: 6, [path, "does not exist"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "read commands create nothing")
        try ok(["cdb", "define", "testfixture", "a", "port=1"])
        XCTAssertEqual(chmod(path, 0o666), 0)
        try fails(["cdb", "show"], status: 6, [path, "writable by others"])
    }
}
