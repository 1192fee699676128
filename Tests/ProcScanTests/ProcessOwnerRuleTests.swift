import Foundation
@testable import ProcScan
import TestSupport
import XCTest

/// A declared process is judged by who runs it and what it runs, not only
/// by its name and arguments (issue 7, item 5; ``ProcessOwnerRule``):
/// another local user's look-alike of the resource's server never counts.
final class ProcessOwnerRuleTests: XCTestCase {
    private var directory = ""
    private var children: [ChildProcess] = []
    let config = "/root/ng/nginx.conf"

    override func setUpWithError() throws {
        directory = ProcessFixtures.makeTemporaryDirectory(prefix: "owner")
        guard chmod(directory, 0o755) == 0 else { throw SetupFailure("chmod \(directory): \(String(cString: strerror(errno)))") }
    }

    override func tearDown() {
        for child in children { child.stop() }
        children = []
        ProcessFixtures.removeTree(directory)
    }

    /// python3 itself (resolved), which stands in for any program a user can copy.
    func python() throws -> String {
        let path = try XCTUnwrap(["/usr/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                 "no /usr/bin/python3")
        return URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    }

    /// Runs `argv` as uid/gid 65534 (`setpriv` execs it: the pid is the
    /// program's) and waits until its exec is done (argv[0] shows).
    func startAsNobody(_ argv: [String], argv0: String? = nil) throws -> Int32 {
        let setpriv = try XCTUnwrap(ProcessFixtures.which("setpriv"), "no setpriv (util-linux)")
        var command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
        if let argv0 { command += ["/bin/bash", "-c", "exec -a \(argv0) \"$0\" \"$@\"", argv[0]] + argv.dropFirst() }
        else { command += argv }
        let child = try XCTUnwrap(ChildProcess(command), "cannot start \(command)")
        children.append(child)
        let shown = argv0 ?? argv[0]
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) {
            ProcessEntry(pid: child.pid).map { $0.argv0Text == shown && $0.uid == 65534 } ?? false
        }, "pid \(child.pid) never ran \(shown) as nobody")
        return child.pid
    }

    /// python3 copied to `<directory>/bin/fakesrv` (root's, 0755, in a 0755
    /// directory: a trusted file), run as nobody: its directory and pid.
    func startTrustedFakesrvAsNobody() throws -> (bin: String, pid: Int32) {
        let bin = directory + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        XCTAssertEqual(chmod(bin, 0o755), 0)
        XCTAssertTrue(ProcessFixtures.copyExecutable(from: try python(), to: bin + "/fakesrv"))
        XCTAssertEqual(chmod(bin + "/fakesrv", 0o755), 0)
        return (bin, try startAsNobody([bin + "/fakesrv", "-c", "import time;time.sleep(60)", "-c", config]))
    }

    func matched(_ pattern: ProcessPattern, _ pid: Int32) -> Bool {
        ProcessTable().matching(pattern).contains { $0.pid == pid } || pattern.matches(pid: pid, startTime: nil)
    }

    /// The case of the report: `cp python3 /tmp/pub/nginx` run by nobody
    /// with `-c /root/ng/nginx.conf` among its arguments.
    func testAnotherUsersCopyNamedLikeTheServerIsNotTheResource() throws {
        let pub = directory + "/pub"
        try FileManager.default.createDirectory(atPath: pub, withIntermediateDirectories: true)
        XCTAssertEqual(chmod(pub, 0o1777), 0)
        XCTAssertTrue(ProcessFixtures.copyExecutable(from: try python(), to: pub + "/nginx"))
        XCTAssertEqual(chown(pub + "/nginx", 65534, 65534), 0, "the copy is nobody's, as their cp makes it")
        let pid = try startAsNobody([pub + "/nginx", "-c", "import time;time.sleep(60)", "-c", config])
        var text = ProcessPattern(name: "nginx", argument: .word(config))
        XCTAssertTrue(matched(text, pid), "name and argument alone match it (the text is the attacker's to choose)")
        text.ownerRule = true
        XCTAssertFalse(matched(text, pid), "nobody's copy of python3 counted as the resource's nginx")
        XCTAssertFalse(matched(.declared(name: "nginx", argument: config), pid))
    }

    /// A trusted program under another name (`exec -a nginx python3 …`)
    /// run by another user: its executable is not the declared program.
    func testATrustedProgramRenamedByAnotherUserIsNotTheResource() throws {
        let pid = try startAsNobody([try python(), "-c", "import time;time.sleep(60)", "-c", config], argv0: "nginx")
        XCTAssertFalse(matched(.declared(name: "nginx", argument: config), pid))
    }

    /// The declared program itself, from a trusted file, run by a service
    /// account (nginx's workers, PostgreSQL): it counts.
    func testTheDeclaredProgramRunByAServiceAccountCounts() throws {
        let (bin, pid) = try startTrustedFakesrvAsNobody()
        XCTAssertTrue(matched(.declared(name: "fakesrv", argument: config), pid))
        // The same file made writable by others: no longer trusted.
        XCTAssertEqual(chmod(bin + "/fakesrv", 0o777), 0)
        XCTAssertFalse(matched(.declared(name: "fakesrv", argument: config), pid))
    }

    /// Root's (the host's) processes count as before.
    func testTheHostsOwnProcessesCount() throws {
        XCTAssertTrue(ProcessFixtures.copyExecutable(from: try python(), to: directory + "/nginx"))
        let child = try XCTUnwrap(ChildProcess([directory + "/nginx", "-c", "import time;time.sleep(60)", "-c", config]))
        children.append(child)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) {
            ProcessEntry(pid: child.pid)?.argv0Text == self.directory + "/nginx"
        })
        XCTAssertTrue(matched(.declared(name: "nginx", argument: config), child.pid))
    }

    /// The executable's name as the host reads it passes through a link in
    /// a directory another user can write (the directory swapped for a link
    /// after the kernel named it; issue 13): judged where the link sits, the
    /// trusted file behind it does not make the process the resource's.
    func testAnExecutableNamedThroughALinkInAWritableDirectoryDoesNotCount() throws {
        let (bin, pid) = try startTrustedFakesrvAsNobody()
        let entry = try XCTUnwrap(ProcessEntry(pid: pid))
        XCTAssertTrue(ProcessOwnerRule.admits(entry, name: Array("fakesrv".utf8)), "the trusted file, named directly")
        let pub = directory + "/pub"
        XCTAssertEqual(mkdir(pub, 0o777), 0)
        XCTAssertEqual(chmod(pub, 0o777), 0)
        XCTAssertEqual(symlink(bin, pub + "/bin"), 0)
        XCTAssertTrue(ProcessOwnerRule.isDeclaredProgram(exe: bin + "/fakesrv", name: Array("fakesrv".utf8)))
        XCTAssertFalse(ProcessOwnerRule.isDeclaredProgram(exe: pub + "/bin/fakesrv", name: Array("fakesrv".utf8)),
                       "a link in a 0777 directory on the executable's name was trusted")
    }
}

extension ProcessEntry {
    /// argv[0] as text.
    var argv0Text: String { String(decoding: argv0, as: UTF8.self) }
}
