// What reaches syslog: every line of one action under the ident `fshost`
// (openlog keeps its ident's pointer; a temporary string garbled the later
// lines). The system log is caught in a private mount namespace: a tmpfs
// over /dev (the real entries bound back) holds a /dev/log that a small
// Unix datagram listener owns, so nothing of the node's logging is touched
// and nothing outlives the test.
import Foundation
import TestSupport
import XCTest

final class SyslogIdentTests: XCTestCase {
    var sandbox: HostSandbox!

    override func setUpWithError() throws {
        for tool in ["/usr/bin/unshare", "/usr/bin/python3", "/bin/mount"] {
            guard FileManager.default.isExecutableFile(atPath: tool) else { throw SetupFailure("\(tool) is missing") }
        }
        sandbox = try HostSandbox()
    }

    override func tearDown() {
        sandbox = nil
        super.tearDown()
    }

    /// `capture.sh DIR COMMAND…`, run under `unshare -m`: /dev/log in this
    /// namespace only, its datagrams appended to DIR/syslog, one a line.
    static let capture = #"""
    #!/bin/sh
    set -e
    D=$1; shift
    mount --make-rprivate /
    mkdir -p "$D/olddev"
    mount --rbind /dev "$D/olddev"
    mount -t tmpfs -o mode=755 tmpfs /dev
    for e in "$D"/olddev/*; do
      n=/dev/$(basename "$e")
      if [ -L "$e" ]; then cp -P "$e" "$n"
      elif [ -d "$e" ]; then mkdir "$n"; mount --rbind "$e" "$n"
      else touch "$n"; mount --bind "$e" "$n"; fi
    done
    /usr/bin/python3 -c '
    import socket, sys, os
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind("/dev/log"); s.settimeout(0.2)
    os.write(1, b"ready\n")
    with open(sys.argv[1], "ab") as f:
        while True:
            try:
                f.write(s.recv(65536) + b"\n"); f.flush()
            except socket.timeout:
                if os.path.exists(sys.argv[1] + ".stop"): break
    ' "$D/syslog" > "$D/ready" &
    L=$!
    while ! grep -q ready "$D/ready" 2>/dev/null; do sleep 0.05; done
    set +e
    "$@"
    rc=$?
    touch "$D/syslog.stop"; wait $L
    exit $rc
    """#

    func testEveryLineOfAnActionGoesOutUnderTheIdentFshost() throws {
        let defined = try sandbox.fshost(["cdb", "define", "testfixture", "kv", "port=80", "fail_probes=100", "retries=2",
                                          "retry_interval=100ms", "fail_reason=disk full"])
        guard defined.status == 0 else { throw SetupFailure("cdb define: \(defined)") }
        let directory = sandbox.path("syslog.d")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let script = sandbox.path("capture.sh")
        try Self.capture.write(toFile: script, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(script, 0o755), 0)
        let hadDevLog = FileManager.default.fileExists(atPath: "/dev/log")
        let fshost = HostSandbox.products.appendingPathComponent("fshost").path
        let r = try sandbox.run("/usr/bin/unshare", ["-m", script, directory, fshost, "testfixture", "monitor", "kv"])
        XCTAssertEqual(r.status, 3, "the monitor fails (every probe does): \(r)")
        let captured = (try? String(contentsOfFile: directory + "/syslog", encoding: .utf8)) ?? ""
        let lines = captured.split(separator: "\n").map(String.init)
        XCTAssertGreaterThanOrEqual(lines.count, 3, "two retries and the final line reach syslog: \(captured) \(r.stderr)")
        for line in lines {
            // `<PRI>Mmm dd hh:mm:ss fshost[PID]: type=…`
            XCTAssertNotNil(line.range(of: #"^<[0-9]+>[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} fshost\[[0-9]+\]: type=testfixture resource=kv action=monitor "#,
                                       options: .regularExpression), line)
        }
        XCTAssertEqual(FileManager.default.fileExists(atPath: "/dev/log"), hadDevLog, "the node's /dev is untouched")
    }
}
