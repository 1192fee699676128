import Foundation
import TestSupport
import XCTest

/// Progress of long admin work (issue 14 item 5): on a terminal only. The
/// terminal is a real pseudo-terminal, made by script(1) (util-linux), for
/// both stdout and stderr, as an operator's shell has.
extension AdminCommandTests {
    /// Runs `fshost-admin ARGS --cdb <temp>` on a pseudo-terminal; returns
    /// the status and everything the terminal got.
    func runOnTerminal(_ arguments: [String]) throws -> Run {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
            throw SetupFailure("/usr/bin/script is not installed (Debian package bsdutils)")
        }
        // script(1) takes one shell command: the words are paths of this
        // test's temporary directory and fixed words, quoted each.
        let command = ([admin] + arguments + ["--cdb", path]).map { "'" + $0 + "'" }.joined(separator: " ")
        return try run(executable: "/usr/bin/script", ["-qec", command, "/dev/null"], cdb: nil, input: nil, stdout: nil)
    }

    func testImportOfManyResourcesShowsProgressOnATerminalOnly() throws {
        let toml = (1...40).map { "[template.t\($0)]\nnote = \"n\($0)\"\n" }.joined(separator: "\n")
        let file = try writeFile("many.toml", toml)
        let terminal = try runOnTerminal(["cdb", "import", file])
        XCTAssertEqual(terminal.status, 0, terminal.stdout)
        XCTAssertTrue(terminal.stdout.contains("clearing state directories: 40/40"), terminal.stdout)
        XCTAssertTrue(terminal.stdout.contains("\r\u{1B}[K"), "redrawn in place and erased: \(terminal.stdout.debugDescription)")
        XCTAssertTrue(terminal.stdout.contains("imported \(file): 0 defined, 40 replaced")
                      || terminal.stdout.contains("imported \(file): 40 defined"), terminal.stdout)

        // Not a terminal (pipes, as a script has): no progress at all.
        let piped = try run(["cdb", "import", file])
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertEqual(piped.stderr, "")
        XCTAssertFalse(piped.stdout.contains("\r") || piped.stdout.contains("\u{1B}"), piped.stdout)
    }

    func testVerifyShowsItsStepsOnATerminalAndATableThere() throws {
        let (token, _) = try defineSleeper("sleeper")
        defer { for pid in sleepers(token) { kill(pid, SIGKILL) } }
        let terminal = try runOnTerminal(["verify", "sleeper", "s1"])
        XCTAssertEqual(terminal.status, 0, terminal.stdout)
        XCTAssertTrue(terminal.stdout.contains("verify sleeper/s1: step 6/16 start again"), terminal.stdout)
        XCTAssertTrue(terminal.stdout.contains("\r\u{1B}[K"), terminal.stdout.debugDescription)
        // On a terminal the table is the default, not JSON.
        XCTAssertTrue(terminal.stdout.contains("STEP"), terminal.stdout)
        XCTAssertTrue(terminal.stdout.contains("sleeper/s1: the protocol holds"), terminal.stdout)
        XCTAssertFalse(terminal.stdout.contains("{\""), terminal.stdout)
        // Off a terminal: JSON, and nothing but it.
        let piped = try run(["verify", "sleeper", "s1"])
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertTrue(piped.stdout.hasPrefix("{"), piped.stdout)
        XCTAssertEqual(piped.stderr, "")
    }
}
