// Two network namespaces the test creates and removes: a client and a
// server joined by a veth pair, with addresses that exist only inside them
// (nothing is configured in the test's own namespace), and a real TCP
// listener in the server. The firewall under test lives in the server.
import Foundation
import TestSupport

final class NetworkLab {
    let tag: String
    /// Namespace names (/run/netns/NAME).
    let server: String, client: String
    let serverAddress = "10.231.0.2", clientAddress = "10.231.0.1"
    private var listener: Process?
    private var removed = false

    /// `ip netns add` twice, the veth pair, addresses, links up. A step
    /// that fails removes what was made and throws a SetupFailure.
    init() throws {
        tag = String(UUID().uuidString.prefix(6)).lowercased()
        server = "fsipf-s-\(tag)"
        client = "fsipf-c-\(tag)"
        do {
            for ns in [server, client] { try Self.must(["ip", "netns", "add", ns]) }
            let a = "fsva\(tag)", b = "fsvb\(tag)"
            try Self.must(["ip", "link", "add", a, "netns", client, "type", "veth", "peer", "name", b, "netns", server])
            try Self.must(["ip", "-n", client, "addr", "add", "\(clientAddress)/24", "dev", a])
            try Self.must(["ip", "-n", server, "addr", "add", "\(serverAddress)/24", "dev", b])
            for (ns, dev) in [(client, a), (server, b), (client, "lo"), (server, "lo")] {
                try Self.must(["ip", "-n", ns, "link", "set", dev, "up"])
            }
        } catch {
            remove()
            throw error
        }
    }

    /// Ends the listener and deletes both namespaces (the veth pair goes
    /// with them). Safe to call twice.
    func remove() {
        if removed { return }
        removed = true
        if let listener, listener.isRunning {
            listener.terminate()
            listener.waitUntilExit()
        }
        for ns in [server, client] { _ = try? Self.command(["ip", "netns", "del", ns]) }
    }

    /// Names under /run/netns of this lab that still exist (for tearDown's check).
    func leftovers() -> [String] {
        [server, client].filter { FileManager.default.fileExists(atPath: "/run/netns/" + $0) }
    }

    /// A TCP listener on `ports` of the server address (accepts and closes),
    /// ready when the client can connect to every port.
    func listen(on ports: [Int]) throws {
        let script = """
            import select, socket, sys
            ss = []
            for p in sys.argv[2:]:
                s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((sys.argv[1], int(p))); s.listen(64); ss.append(s)
            while True:
                for s in select.select(ss, [], [])[0]:
                    c, _ = s.accept(); c.close()
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", server, "python3", "-c", script, serverAddress] + ports.map(String.init)
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        listener = p
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if try ports.allSatisfy({ try connects(to: $0) }) { return }
            guard p.isRunning else { throw SetupFailure("the listener in \(server) ended with status \(p.terminationStatus)") }
            usleep(50_000)
        }
        throw SetupFailure("the listener in \(server) does not accept on \(ports) after 10 s")
    }

    /// A TCP connection from the client to the server's `port` completes
    /// within 1 s (a rejected or dropped one does not).
    func connects(to port: Int) throws -> Bool {
        let r = try Self.command(["ip", "netns", "exec", client, "python3", "-c",
                                  "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()",
                                  serverAddress, String(port)])
        return r.status == 0
    }

    /// `nft ARGS…` inside the server namespace; throws unless it succeeds.
    @discardableResult
    func nft(_ arguments: String...) throws -> String {
        try Self.must(["ip", "netns", "exec", server, "nft"] + arguments)
    }

    /// The server's whole ruleset with handles, stateless: equal before and
    /// after means nothing was changed (a replaced object gets new handles).
    func ruleset() throws -> String { try nft("-a", "-s", "list", "ruleset") }

    // MARK: Commands

    static func command(_ argv: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0].hasPrefix("/") ? argv[0] : "/usr/bin/env")
        p.arguments = argv[0].hasPrefix("/") ? Array(argv.dropFirst()) : argv
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @discardableResult
    static func must(_ argv: [String]) throws -> String {
        let r = try command(argv)
        guard r.status == 0 else { throw SetupFailure("`\(argv.joined(separator: " "))` answered \(r.status): \(r.output)") }
        return r.output
    }
}
