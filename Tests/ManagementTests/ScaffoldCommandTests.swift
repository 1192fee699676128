import Foundation
import TestSupport
import XCTest

/// `fshost scaffold` end to end, the built `fshost` run as a process: the
/// standalone package (`--package DIR`), the in-tree form, and every
/// refusal — one line, its documented status, nothing created (no
/// destination and no temporary directory left beside it).
/// OutOfTreeTests builds and runs what the package form writes.
final class ScaffoldCommandTests: XCTestCase {
    var sandbox: HostSandbox!

    override func setUpWithError() throws {
        sandbox = try HostSandbox()
        guard FileManager.default.isExecutableFile(atPath: HostSandbox.products.appendingPathComponent("fshost-admin").path),
              FileManager.default.fileExists(atPath: HostSandbox.products.appendingPathComponent("libtemplate.so").path) else {
            throw SetupFailure("fshost-admin or libtemplate.so is not built in \(HostSandbox.products.path)")
        }
    }

    override func tearDown() { sandbox = nil }

    /// The sandbox's entries, for "nothing was created".
    func entries() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: sandbox.root.path).sorted()
    }

    /// A refusal: `status`, one line on stderr mentioning `words`, no output,
    /// and the sandbox as it was.
    func assertRefused(_ arguments: [String], status: Int32, mentioning words: [String],
                       runAs user: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try entries()
        let result = try user.map {
            try sandbox.run("/usr/bin/setpriv", ["--reuid=\($0)", "--regid=\($0 == "nobody" ? "nogroup" : $0)", "--clear-groups",
                                                 HostSandbox.products.appendingPathComponent("fshost").path] + arguments)
        } ?? sandbox.fshost(arguments)
        XCTAssertEqual(result.status, status, "\(arguments): \(result)", file: file, line: line)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line: \(result.stderr)", file: file, line: line)
        for word in words { XCTAssertTrue(result.stderr.contains(word), "'\(word)' in: \(result.stderr)", file: file, line: line) }
        XCTAssertEqual(result.stdout, "", file: file, line: line)
        XCTAssertEqual(try entries(), before, "nothing created", file: file, line: line)
    }

    func testPackageHasEveryPartAndDependsOnThisCheckout() throws {
        let dir = sandbox.path("mailserver")
        let result = try sandbox.fshost("scaffold", "MailServer", "--package", dir)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("type 'mailserver'"), result.stdout)
        XCTAssertTrue(result.stdout.contains("FSHOST_PLUGIN_PATH=/usr/local/lib/fshost/resource_types"),
                      "next steps that work with a checkout-built fshost: \(result.stdout)")
        let repository = URL(fileURLWithPath: try HostSandbox.repository()).resolvingSymlinksInPath().path
        let files = try XCTUnwrap(FileManager.default.subpaths(atPath: dir)).filter { !$0.hasSuffix("/") }.sorted()
        XCTAssertEqual(Set(files), ["Package.swift", "Sources", "Sources/MailServer", "Sources/MailServer/MailServer.swift",
                                    "Tests", "Tests/MailServerTests", "Tests/MailServerTests/MailServerTests.swift",
                                    "Makefile", "README.md", ".gitignore"])
        let manifest = try String(contentsOfFile: dir + "/Package.swift", encoding: .utf8)
        XCTAssertTrue(manifest.contains(".package(path: \"\(repository)\")"), manifest)
        XCTAssertTrue(manifest.contains(".package(url:"), "the URL form is documented: \(manifest)")
        XCTAssertTrue(manifest.contains("let sdkName = \"\((repository as NSString).lastPathComponent.lowercased())\""), manifest)
        XCTAssertTrue(manifest.contains(".library(name: \"mailserver\", type: .dynamic"), manifest)
        XCTAssertFalse(manifest.contains("unsafeFlags"))
        let source = try String(contentsOfFile: dir + "/Sources/MailServer/MailServer.swift", encoding: .utf8)
        for part in ["struct MailServer: ResourceType", "Attribute.string(\"greeting\"", "MonitorLevel(1,", "func validate()",
                     "func start()", "func stop()", "func probe(level: UInt32)", "func exclusive()", "func restart()"] {
            XCTAssertTrue(source.contains(part), part)
        }
        XCTAssertTrue(try String(contentsOfFile: dir + "/README.md", encoding: .utf8).contains("fshost verify mailserver"))
        for (path, mode) in [(dir, 0o755), (dir + "/Package.swift", 0o644), (dir + "/Sources/MailServer", 0o755)] {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            XCTAssertEqual((attributes[.posixPermissions] as? Int).map { $0 & 0o777 }, mode, path)
        }
        XCTAssertEqual(try entries().filter { $0.contains("scaffold") }, [], "no temporary directory left")
    }

    func testPackageInAnExistingEmptyDirectory() throws {
        let dir = sandbox.path("empty")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        let result = try sandbox.fshost("scaffold", "Greeter", "--package", dir + "/")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/Sources/Greeter/Greeter.swift"))
    }

    func testInTreeFormKeepsWorking() throws {
        let plugins = sandbox.path("Plugins")
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: false)
        let result = try sandbox.fshost("scaffold", "MailServer", "--directory", plugins)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("resourceType(\"MailServer\", path: \"\(plugins)/MailServer\")"), result.stdout)
        let source = try String(contentsOfFile: plugins + "/MailServer/MailServer.swift", encoding: .utf8)
        XCTAssertTrue(source.contains("struct MailServer: ResourceType"))
        XCTAssertFalse(source.contains("Template"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: plugins), ["MailServer"])
        // The same name again: the directory exists.
        try assertRefused(["scaffold", "MailServer", "--directory", plugins], status: 2, mentioning: ["MailServer", "not empty"])
    }

    func testInvalidIdentifiersAreRefused() throws {
        for name in ["mailServer", "Mail-Server", "Mail Server", "Mäil", "9Lives", "Mail_Server", "FSKit", "XCTest"] {
            try assertRefused(["scaffold", name, "--package", sandbox.path("p")], status: 2, mentioning: [name])
            try assertRefused(["scaffold", name, "--directory", sandbox.root.path], status: 2, mentioning: [name])
        }
        try assertRefused(["scaffold", "", "--package", sandbox.path("p")], status: 2, mentioning: ["not a plugin name"])
    }

    func testAnExistingTypeIsRefused() throws {
        // libtemplate.so is in the plugin path (the products directory).
        try assertRefused(["scaffold", "Template", "--package", sandbox.path("t")], status: 2,
                          mentioning: ["type 'template' exists", "libtemplate.so"])
        try assertRefused(["scaffold", "Template", "--directory", sandbox.root.path], status: 2,
                          mentioning: ["type 'template' exists"])
    }

    func testAnExistingNonEmptyDirectoryOrFileIsRefused() throws {
        let dir = sandbox.path("taken")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        FileManager.default.createFile(atPath: dir + "/mine.txt", contents: Data("keep".utf8))
        try assertRefused(["scaffold", "Greeter", "--package", dir], status: 2, mentioning: [dir, "not empty"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["mine.txt"])
        XCTAssertEqual(try String(contentsOfFile: dir + "/mine.txt", encoding: .utf8), "keep")
        let file = sandbox.path("afile")
        FileManager.default.createFile(atPath: file, contents: Data())
        try assertRefused(["scaffold", "Greeter", "--package", file], status: 2, mentioning: [file, "not a directory"])
    }

    func testAnUnwritableDirectoryIsRefused() throws {
        // The sandbox is root's, 0755: another user cannot create in it.
        guard getuid() == 0 else { throw SetupFailure("these tests run as root (CI does)") }
        try assertRefused(["scaffold", "Greeter", "--package", sandbox.path("p")], status: 3,
                          mentioning: ["cannot create", sandbox.path("p"), "Permission denied"], runAs: "nobody")
        try assertRefused(["scaffold", "Greeter", "--directory", sandbox.root.path], status: 3,
                          mentioning: ["cannot create", "Permission denied"], runAs: "nobody")
        // Root too, where nothing can be created (sysfs), and under a missing parent.
        try assertRefused(["scaffold", "Greeter", "--package", "/sys/fshost-scaffold-test"], status: 3,
                          mentioning: ["cannot create", "/sys"])
        try assertRefused(["scaffold", "Greeter", "--package", sandbox.path("missing/p")], status: 3,
                          mentioning: ["cannot create", "No such file or directory"])
    }

    func testAWriteThatFailsMidwayLeavesNothing() throws {
        // Files of at most 1 KiB (ulimit -f 1), SIGXFSZ ignored: the
        // manifest's write fails with EFBIG after the temporary directory
        // and its first directories were made.
        let fshost = HostSandbox.products.appendingPathComponent("fshost").path
        let before = try entries()
        let result = try sandbox.run("/bin/bash", ["-c", "trap '' XFSZ; ulimit -f 1; exec \"$0\" scaffold Greeter --package \"$1\"",
                                                   fshost, sandbox.path("p")])
        XCTAssertEqual(result.status, 3, "\(result)")
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("cannot write \(sandbox.path("p"))/Package.swift: File too large"), result.stderr)
        XCTAssertEqual(try entries(), before, "nothing created, no temporary directory left")
    }

    func testAnSDKPathIsAStringLiteralInTheManifest() throws {
        // A checkout's shape (Package.swift, Sources/FSKit) in a directory whose name needs escaping.
        let checkout = sandbox.path("sdk\"q\\uoted")
        try FileManager.default.createDirectory(atPath: checkout + "/Sources/FSKit", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: checkout + "/Package.swift", contents: Data())
        let result = try sandbox.fshost("scaffold", "Greeter", "--package", sandbox.path("p"), "--sdk", checkout)
        XCTAssertEqual(result.status, 0, result.stderr)
        let manifest = try String(contentsOfFile: sandbox.path("p") + "/Package.swift", encoding: .utf8)
        XCTAssertTrue(manifest.contains(".package(path: \"\(sandbox.root.path)/sdk\\\"q\\\\uoted\")"), manifest)
    }

    func testAnSDKThatIsNotACheckoutIsRefused() throws {
        try assertRefused(["scaffold", "Greeter", "--package", sandbox.path("p"), "--sdk", sandbox.root.path], status: 2,
                          mentioning: ["not an fshost checkout"])
    }

    // ---- The temporary directory (ScaffoldDirectory) -----------------------

    func testAParentAnotherUserCanWriteIsRefused() throws {
        // Root writing by path into a directory another user owns could be sent
        // anywhere by that user (a symbolic link swapped in): PathTrust's rule.
        guard getuid() == 0 else { throw SetupFailure("these tests run as root (CI does)") }
        let theirs = sandbox.path("theirs"), open = sandbox.path("open")
        try FileManager.default.createDirectory(atPath: theirs, withIntermediateDirectories: false)
        XCTAssertEqual(chown(theirs, 65534, 65534), 0)  // nobody
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: false)
        XCTAssertEqual(chmod(open, 0o777), 0)
        try assertRefused(["scaffold", "Greeter", "--package", theirs + "/p"], status: 3,
                          mentioning: ["cannot create", theirs, "owned by uid 65534"])
        try assertRefused(["scaffold", "Greeter", "--package", open + "/p"], status: 3,
                          mentioning: ["cannot create", open, "writable by others"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: theirs), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: open), [])
        // A sticky directory (/tmp's mode) is fine: nobody else can rename what root makes in it.
        XCTAssertEqual(chmod(open, 0o1777), 0)
        let made = try sandbox.fshost("scaffold", "Greeter", "--package", open + "/p")
        XCTAssertEqual(made.status, 0, made.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: open), ["p"])
    }

    func testASymbolicLinkPlantedAtTheTemporaryNameIsNeverFollowed() throws {
        // The race of the report, widened: strace delays the first fchmod (the
        // temporary directory's) by 2 s; meanwhile the temporary directory is
        // moved away and a link to a victim directory put at its name.
        guard let strace = ELFFixtures.findExecutable(["strace"]) else { throw SetupFailure("no strace (Makefile PACKAGES)") }
        let victim = sandbox.path("victim")
        try FileManager.default.createDirectory(atPath: victim, withIntermediateDirectories: false)
        XCTAssertEqual(chmod(victim, 0o700), 0)
        let script = """
        "$0" -f -qq -o /dev/null -e trace=fchmod -e inject=fchmod:delay_enter=2000000:when=1 "$1" scaffold Greeter --package "$2/p" &
        pid=$!; t=
        for i in $(seq 150); do t=$(ls -d "$2"/.p.scaffold-* 2>/dev/null) && break; sleep 0.01; done
        [ -n "$t" ] || { echo "no temporary directory seen" >&2; wait $pid; exit 99; }
        mv "$t" "$2/moved" && ln -s "$3" "$t"
        wait $pid
        """
        let result = try sandbox.run("/bin/bash", ["-c", script, strace, HostSandbox.products.appendingPathComponent("fshost").path,
                                                   sandbox.root.path, victim])
        XCTAssertEqual(result.status, 3, "\(result)")
        XCTAssertTrue(result.stderr.contains("was replaced"), result.stderr)
        var st = stat()
        XCTAssertEqual(lstat(victim, &st), 0)
        XCTAssertEqual(st.st_mode & 0o7777, 0o700, "the victim's mode is untouched")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: victim), [], "nothing written into the victim")
        XCTAssertFalse(FileManager.default.fileExists(atPath: sandbox.path("p")), "no destination")
        XCTAssertEqual(try entries().filter { $0.hasPrefix(".") }, [], "the planted link is removed, never entered")
    }

    func testAStaleTemporaryDirectoryOfAGoneProcessIsRemoved() throws {
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let stale = sandbox.path(".p.scaffold-\(gone.processIdentifier)-AbC123")
        let live = sandbox.path(".p.scaffold-\(getpid())-XyZ789")  // this test: alive
        for dir in [stale, live] {
            try FileManager.default.createDirectory(atPath: dir + "/Sources", withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: dir + "/Sources/x.swift", contents: Data("x".utf8))
        }
        let result = try sandbox.fshost("scaffold", "Greeter", "--package", sandbox.path("p"))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale), "the killed scaffold's leftovers are removed")
        XCTAssertTrue(FileManager.default.fileExists(atPath: live + "/Sources/x.swift"), "a running one's are kept")
    }

    func testADestinationThatNamesNoNewDirectoryIsRefused() throws {
        for dir in [".", "./", "..", "/", sandbox.root.path + "/.", sandbox.root.path + "/.."] {
            try assertRefused(["scaffold", "Dot", "--package", dir], status: 2, mentioning: ["names no new directory"])
        }
    }

    func testNamesTheSDKPackageUsesAreRefused() throws {
        // Read from the checkout: its targets (Sources/, Plugins/, Tests/), a
        // plugin's product, its dependencies and their targets.
        sandbox.extraEnvironment["FSHOST_PLUGIN_PATH"] = sandbox.root.path  // no installed type in the way
        for name in ["ProcScan", "Management", "FSHost", "Sleeper", "FSKit", "ManagementTests", "TOMLKit", "ArgumentParser"] {
            try assertRefused(["scaffold", name, "--package", sandbox.path("p")], status: 2, mentioning: [name, "collides with"])
        }
        try assertRefused(["scaffold", "XCTest", "--package", sandbox.path("p")], status: 2, mentioning: ["toolchain"])
    }
}
