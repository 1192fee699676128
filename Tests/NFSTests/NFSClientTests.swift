// The libnfs companion's own path (nfs-client.so): what its connections and
// its NFSv4 COMPOUNDs do and do not ask, against the lab's real Ganesha.
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

extension NFSTests {
    /// NFSv4's READDIR lists neither "." nor "..": an empty export root
    /// answers no entry, at its end, and is read all the same.
    func testEmptyNFSv4RootPassesLevel3() throws {
        let dir = try lab.makeExportDirectory("e2")
        XCTAssertEqual(unlink(dir + "/hello.txt"), 0)
        try define("e2", path: dir, id: 102, ["versions=4", "pseudo=/two"])
        XCTAssertEqual(try nfs("start", "e2").status, success)
        for level in 2...3 { XCTAssertEqual(try monitor("e2", level).status, success, "empty v4 root, level \(level)") }
    }

    /// A monitor's connections ask no name service (libnfs's own connect
    /// resolved the numeric address with getaddrinfo and, as root, asked
    /// getservbyport for the source port: nsswitch.conf and /etc/services
    /// on every connection), and the NFSv4 check maps no owner@domain to
    /// a uid (/etc/passwd, /etc/group): the attributes it asks carry none.
    /// Each connection still comes from a reserved port (as root), which a
    /// kernel nfsd's default `secure` demands.
    func testMonitorAsksNoNameServiceAndConnectsFromAReservedPort() throws {
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101)
        try define("e2", path: try lab.makeExportDirectory("e2"), id: 102, ["versions=4", "pseudo=/two"])
        for name in ["e1", "e2"] { XCTAssertEqual(try nfs("start", name).status, success, "start \(name)") }
        for name in ["e1", "e2"] {
            let trace = sandbox.path("names-\(name)")
            let r = try lab.run("/usr/bin/strace", ["-f", "-e", "trace=openat,open,stat,newfstatat,socket,bind,connect", "-o", trace,
                                                    HostSandbox.products.appendingPathComponent("fshost").path,
                                                    "nfs", "monitor", name, "--level", "3"])
            XCTAssertEqual(r.status, success, "\(name) level 3 under strace: \(r)")
            let lines = ((try? String(contentsOfFile: trace, encoding: .utf8)) ?? "").split(separator: "\n")
            for file in ["/etc/services", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "nscd/socket"] {
                XCTAssertFalse(lines.contains { $0.contains(file) }, "\(name): \(file) asked: \(lines.filter { $0.contains(file) })")
            }
            XCTAssertFalse(lines.contains { $0.contains("AF_NETLINK") }, "\(name): getaddrinfo's netlink dump")
            func ports(_ call: String) -> [Int] {
                lines.filter { $0.contains(call + "(") && $0.contains("AF_INET") }.compactMap { line in
                    guard let open = line.range(of: "htons("), let close = line[open.upperBound...].firstIndex(of: ")") else { return nil }
                    return Int(line[open.upperBound..<close])
                }
            }
            let bound = ports("bind"), connected = ports("connect")
            XCTAssertFalse(connected.isEmpty, "\(name): no connection traced")
            XCTAssertEqual(bound.count, connected.count, "\(name): one bind per connection: \(bound) \(connected)")
            XCTAssertTrue(bound.allSatisfy { (512..<1024).contains($0) }, "\(name): reserved source ports: \(bound)")
        }
    }
}
