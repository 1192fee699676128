import Foundation
import TestSupport
import XCTest

/// Issue 14, item 5: `make install` writes man pages and shell completions
/// generated from the argument parser (and, for the action form, from
/// `fshost --help`) into the usual places under the prefix.
final class ManualAndCompletionTests: XCTestCase {
    var sandbox: HostSandbox!
    var prefix = ""

    override func setUpWithError() throws {
        sandbox = try HostSandbox()
        prefix = sandbox.path("usr")
        try sandbox.installTree(into: prefix)
    }

    override func tearDown() {
        sandbox = nil
        super.tearDown()
    }

    static let installed = ["share/man/man1/fshost.1", "share/man/man1/fshost-admin.1",
                            "share/bash-completion/completions/fshost", "share/zsh/site-functions/_fshost",
                            "share/fish/vendor_completions.d/fshost.fish"]

    func testFilesAreInstalledAndNotEmpty() throws {
        for file in Self.installed {
            let attributes = try FileManager.default.attributesOfItem(atPath: prefix + "/" + file)
            XCTAssertGreaterThan(attributes[.size] as? Int ?? 0, 0, file)
            XCTAssertEqual(attributes[.posixPermissions] as? Int, 0o644, file)
        }
        // Each shell's script names the management commands, not the hidden generator.
        for file in Self.installed.dropFirst(2) {
            let text = try String(contentsOfFile: prefix + "/" + file, encoding: .utf8)
            XCTAssertTrue(text.contains("cdb") && text.contains("define"), file)
            XCTAssertFalse(text.contains("generate-manual"), file)
        }
    }

    /// `man -l PAGE` formats it, with no warning from groff.
    func render(_ page: String) throws -> String {
        var environment = sandbox.environment
        environment["MANWIDTH"] = "100"
        environment["MANPAGER"] = "cat"
        sandbox.extraEnvironment = environment
        let r = try sandbox.run("/usr/bin/man", ["--warnings", "-l", prefix + "/share/man/man1/" + page])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "", "man -l \(page) warned")
        return r.stdout
    }

    func testManRendersTheActionFormAndTheCommands() throws {
        let page = try render("fshost.1")
        for text in ["fshost <type> <action> <resource>", "EXIT STATUS", "HA_HOST_ERROR", "FAILSAFE BATCH MODE",
                     "MANAGEMENT COMMANDS", "fshost cdb define", "fshost status", "--watch", "fshost-admin(1)"] {
            XCTAssertTrue(page.contains(text), "fshost(1) lacks '\(text)':\n\(page)")
        }
        XCTAssertFalse(page.contains("generate-manual"), "the hidden generator is in the page")
        let admin = try render("fshost-admin.1")
        for text in ["libexec/fshost/fshost-admin", "fshost cdb import", "fshost(1)"] {
            XCTAssertTrue(admin.contains(text), "fshost-admin(1) lacks '\(text)':\n\(admin)")
        }
    }

    /// What bash offers for `fshost WORDS…` (the last word is the one
    /// being completed): the function the installed script registers for
    /// `fshost`, called as bash calls it. The first word is the installed
    /// `fshost` (the script runs it for the types).
    func bashCompletion(_ words: [String]) throws -> [String] {
        let script = """
        source "$1"; shift
        function=$(complete -p fshost | sed -n 's/.* -F \\([^ ]*\\) .*/\\1/p')
        [ -n "$function" ] || { echo "no completion registered for fshost" >&2; exit 1; }
        COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        "$function" fshost "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf '%s\\n' "${COMPREPLY[@]}"
        """
        let r = try sandbox.run("/bin/bash", ["-c", script, "complete",
                                              prefix + "/share/bash-completion/completions/fshost",
                                              prefix + "/bin/fshost"] + words.dropFirst())
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout.split(separator: "\n").map(String.init)
    }

    func testBashCompletesTheSubcommands() throws {
        let cdb = try bashCompletion(["fshost", "cdb", ""])
        for word in ["define", "modify", "modify-type", "delete", "show", "get", "import", "export"] {
            XCTAssertTrue(cdb.contains(word), "fshost cdb <TAB> does not offer \(word): \(cdb)")
        }
        let first = try bashCompletion(["fshost", ""])
        for word in ["list", "cdb", "status", "verify"] { XCTAssertTrue(first.contains(word), "\(first)") }
        XCTAssertFalse(first.contains("generate-manual"), "\(first)")
        XCTAssertEqual(try bashCompletion(["fshost", "cdb", "imp"]), ["import"])
    }

    /// The action form, which the argument parser does not know: the
    /// installed types, then the actions, then the action's options.
    func testBashCompletesTheActionForm() throws {
        XCTAssertEqual(try bashCompletion(["fshost", "temp"]), ["template"])
        let first = try bashCompletion(["fshost", ""])
        XCTAssertTrue(first.contains("webserver") && first.contains("cdb"), "\(first)")
        XCTAssertEqual(try bashCompletion(["fshost", "template", ""]),
                       ["exclusive", "start", "stop", "monitor", "restart", "validate"])
        XCTAssertEqual(try bashCompletion(["fshost", "template", "mo"]), ["monitor"])
        XCTAssertEqual(try bashCompletion(["fshost", "template", "monitor", "t1", "--l"]), ["--level"])
    }

    /// Bad input to the generators: one line, status 2, nothing on stdout.
    func testGeneratorsRefuseBadInput() throws {
        let admin = HostSandbox.products.appendingPathComponent("fshost-admin").path
        var r = try sandbox.run(admin, ["generate-manual", "fshost-nope"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("no man page 'fshost-nope'"), r.stderr)
        r = try sandbox.run(admin, ["generate-manual", "fshost"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("--action-help"), r.stderr)
        r = try sandbox.run(admin, ["generate-manual", "fshost", "--action-help", sandbox.path("missing")])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(r.stdout, "")
        r = try sandbox.run(admin, ["generate-completion", "tcsh"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("no completion for shell 'tcsh'"), r.stderr)
        // Output that cannot be written is a failure (3), not a silent 0.
        for arguments in ["generate-completion bash", "generate-manual fshost-admin"] {
            r = try sandbox.run("/bin/sh", ["-c", "exec \"$0\" \(arguments) > /dev/full", admin])
            XCTAssertEqual(r.status, 3, "\(arguments) > /dev/full: \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("cannot write standard output"), r.stderr)
        }
    }
}
