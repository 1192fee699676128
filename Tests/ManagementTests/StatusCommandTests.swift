import Foundation
import TestSupport
import XCTest
@testable import CDB

/// `fshost status` end to end: the built admin tool runs a real
/// `fshost TYPE monitor RESOURCE --json` per resource (template and
/// testfixture plugins of this build), with AdminCommandTests' sandbox
/// (CDB, run and state directories in a temporary directory).
extension AdminCommandTests {
    /// Three healthy template resources, a testfixture whose monitor fails
    /// with a reason, one cleanly stopped (its marker is absent).
    func defineMixedResources() throws {
        for name in ["t1", "t2", "t3"] { try ok(["cdb", "define", "template", name]) }
        try ok(["cdb", "define", "testfixture", "broken", "port=1", "fail_reason=disk on fire"])
        try ok(["cdb", "define", "testfixture", "stopped", "port=2", "marker=\(directory)/absent", "monitor_level=1"])
    }

    /// The table's rows as whitespace-separated fields, by resource name.
    func rows(_ table: String) -> [String: [String]] {
        var rows: [String: [String]] = [:]
        for line in table.split(separator: "\n").dropFirst() where !line.contains("resources:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if fields.count >= 5 { rows[fields[1]] = fields }
        }
        return rows
    }

    func testStatusTableMonitorsEveryResource() throws {
        try defineMixedResources()
        let result = try run(["status"])
        XCTAssertEqual(result.status, 3, "the first failing resource's status (HA_CMD_FAILED): \(result.stderr)")
        // `fshost status` hands the word to the admin tool (Dispatch's list).
        let dispatched = try fshost(["status"])
        XCTAssertEqual(dispatched.status, 3, dispatched.stderr)
        XCTAssertEqual(rows(dispatched.stdout).count, 5, dispatched.stdout)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first?.split(separator: " ", omittingEmptySubsequences: true),
                       ["TYPE", "RESOURCE", "LEVEL", "STATUS", "MS", "REASON"], result.stdout)
        XCTAssertEqual(lines.last, "5 resources: 3 healthy, 1 stopped, 1 failed")
        XCTAssertFalse(result.stdout.contains("\u{1B}"), "no colour when stdout is not a terminal")
        let table = rows(result.stdout)
        XCTAssertEqual(Array(table.keys).sorted(), ["broken", "stopped", "t1", "t2", "t3"])
        for name in ["t1", "t2", "t3"] { XCTAssertEqual(table[name]?[0...3], ["template", name, "0", "HA_SUCCESS"]) }
        XCTAssertEqual(table["broken"]?[0...3], ["testfixture", "broken", "1", "HA_CMD_FAILED"])
        XCTAssertTrue(lines.contains { $0.contains("broken") && $0.hasSuffix("disk on fire") }, result.stdout)
        XCTAssertEqual(table["stopped"]?[0...3], ["testfixture", "stopped", "1", "HA_NOT_RUNNING"])
        // Sorted by type, then name; the columns line up.
        XCTAssertEqual(lines.dropFirst().prefix(5).map { String($0.split(separator: " ")[1]) },
                       ["t1", "t2", "t3", "broken", "stopped"])
        let statusColumn = lines[0].range(of: "STATUS")!.lowerBound.utf16Offset(in: lines[0])
        for line in lines.dropFirst().prefix(5) {
            XCTAssertEqual(line.range(of: "HA_")!.lowerBound.utf16Offset(in: line), statusColumn, line)
        }
    }

    func testStatusJSON() throws {
        try defineMixedResources()
        let result = try run(["status", "--json"])
        XCTAssertEqual(result.status, 3, result.stderr)
        XCTAssertEqual(result.stdout.filter { $0 == "\n" }.count, 1, "one line: \(result.stdout)")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["healthy"] as? Int, 3)
        XCTAssertEqual(object["stopped"] as? Int, 1)
        XCTAssertEqual(object["failed"] as? Int, 1)
        let resources = try XCTUnwrap(object["resources"] as? [[String: Any]])
        XCTAssertEqual(resources.map { $0["resource"] as? String }, ["t1", "t2", "t3", "broken", "stopped"])
        let broken = try XCTUnwrap(resources.first { $0["resource"] as? String == "broken" })
        XCTAssertEqual(broken["type"] as? String, "testfixture")
        XCTAssertEqual(broken["status"] as? String, "HA_CMD_FAILED")
        XCTAssertEqual(broken["code"] as? Int, 3)
        XCTAssertEqual(broken["level"] as? Int, 1)
        XCTAssertEqual(broken["installed"] as? Bool, true)
        XCTAssertEqual(broken["reason"] as? String, "disk on fire")
        XCTAssertNotNil(broken["ms"] as? Int)
        XCTAssertEqual(resources.first?["status"] as? String, "HA_SUCCESS")

        // Every resource healthy or stopped: status 0.
        try ok(["cdb", "delete", "--force", "testfixture", "broken"])
        XCTAssertEqual(try run(["status", "--json"]).status, 0)
    }

    func testStatusRunsMonitorsInParallelWithinTheBound() throws {
        // Four monitors that each take 1 s: four at once take about 1 s,
        // one at a time at least 4 s.
        for name in ["s1", "s2", "s3", "s4"] { try ok(["cdb", "define", "testfixture", name, "port=1", "hang=1s"]) }
        var start = Date()
        XCTAssertEqual(try run(["status", "--parallel", "4"]).status, 0)
        let parallel = Date().timeIntervalSince(start)
        XCTAssertLessThan(parallel, 3.5, "four monitors at once")
        start = Date()
        XCTAssertEqual(try run(["status", "--parallel", "2"]).status, 0)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 2.0, "at most two at a time: two rounds of 1 s")
        for (arguments, named) in [(["status", "--parallel", "0"], "--parallel must be between 1 and 64"),
                                   (["status", "--watch", "0"], "--watch must be between 0.1 and 86400")] {
            let bad = try run(arguments)
            XCTAssertEqual(bad.status, 2, "HA_INVAL_ARGS")
            XCTAssertTrue(bad.stderr.hasPrefix("fshost: " + named), bad.stderr)
            XCTAssertEqual(bad.stdout, "")
        }
    }

    func testStatusMonitorKeepsItsOwnTimeout() throws {
        // A monitor that hangs past its monitor_timeout: that fshost kills
        // it and answers HA_TIMEDOUT; the others are not held up.
        try ok(["cdb", "define", "template", "t1"])
        try ok(["cdb", "define", "testfixture", "hung", "port=1", "hang=10s", "monitor_timeout=500ms"])
        let start = Date()
        let result = try run(["status"])
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "bounded by the monitor's own timeout")
        XCTAssertEqual(result.status, 8, "HA_TIMEDOUT: \(result.stdout)")
        XCTAssertEqual(rows(result.stdout)["hung"]?[3], "HA_TIMEDOUT", result.stdout)
        XCTAssertEqual(rows(result.stdout)["t1"]?[3], "HA_SUCCESS", result.stdout)
    }

    func testStatusListsAResourceOfAnUninstalledType() throws {
        try ok(["cdb", "define", "template", "t1"])
        // The plugin of `ghost` is not installed (defined in the CDB
        // directly: `cdb define` would refuse an unknown type).
        try writer().define(type: "ghost", resource: "g1", attributes: ["monitor_level": "2"])
        let result = try run(["status"])
        XCTAssertEqual(result.status, 5, "HA_NOTSUPPORTED: \(result.stderr)")
        XCTAssertEqual(result.stderr, "")
        let table = rows(result.stdout)
        XCTAssertEqual(table["g1"]?[0...4], ["ghost", "g1", "2", "not", "installed"], result.stdout)
        XCTAssertEqual(table["t1"]?[3], "HA_SUCCESS")
        let json = try run(["status", "--json"])
        XCTAssertEqual(json.status, 5)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let ghost = try XCTUnwrap((object["resources"] as? [[String: Any]])?.first { $0["type"] as? String == "ghost" })
        XCTAssertEqual(ghost["installed"] as? Bool, false)
        XCTAssertEqual(ghost["code"] as? Int, 5)
        XCTAssertEqual(ghost["status"] as? String, "HA_NOTSUPPORTED")
    }

    func testStatusWithAnUnusableCDB() throws {
        try "not a database\n".write(toFile: path, atomically: false, encoding: .utf8)
        try fails(["status"], status: 6, [path, "not a usable fshost configuration database"])
        try fails(["status", "--json"], status: 6, [path])
        unlink(path)
        try fails(["status"], status: 6, [path, "does not exist"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "status creates nothing")
        let relative = try run(executable: admin, ["status", "--cdb", "cdb.sqlite"], cdb: nil, input: nil, stdout: nil)
        XCTAssertEqual(relative.status, 9, relative.stderr)
        XCTAssertTrue(relative.stderr.contains("absolute path"), relative.stderr)
        try fails(["status", "--watch", "0.2"], status: 6, [path, "does not exist"])
        // An empty CDB: nothing fails.
        try ok(["cdb", "define", "template", "t1"])
        try ok(["cdb", "delete", "template", "t1"])
        XCTAssertEqual(try ok(["status"]), "no resources\n")
    }

    /// A CDB that cannot be read (issue 14, bad input): a directory in its
    /// place, one another user could write (file or directory), a damaged
    /// database: one line naming it and why, status 6, nothing on stdout
    /// (no half table, no JSON), nothing created or changed.
    func testStatusWithACDBThatCannotBeRead() throws {
        try ok(["cdb", "define", "template", "t1"])
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        try ok(["cdb", "delete", "template", "t1"])
        func refused(_ words: [String], file: StaticString = #filePath, line: UInt = #line) throws {
            for arguments in [["status"], ["status", "--json"]] {
                try fails(arguments, status: 6, words, file: file, line: line)
                XCTAssertEqual(try run(arguments).stdout, "", "\(arguments): nothing on stdout", file: file, line: line)
            }
        }
        // Another user could write it: refused before it is read.
        chmod(path, 0o666)
        try refused([path, "writable by others", "0666"])
        chmod(path, 0o600)
        chmod(directory, 0o777)
        try refused([directory, "writable by others"])
        chmod(directory, 0o755)
        // A damaged database: the first 2 KiB of a real one.
        for suffix in ["-wal", "-shm"] { unlink(path + suffix) }
        try good.prefix(2048).write(to: URL(fileURLWithPath: path))
        try refused([path, "not a usable fshost configuration database"])
        // A directory where the file should be.
        unlink(path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        try refused([path, "not a regular file"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path), [], "status wrote nothing into it")
        try FileManager.default.removeItem(atPath: path)
    }

    /// Starts `fshost-admin status --watch 0.2` with stdout on `output`
    /// (a pipe or a terminal), reads until `rounds` tables have been
    /// printed, sends `signal` and returns its exit and everything it wrote.
    func watchUntilInterrupted(stdoutFD: Int32, readFD: Int32, rounds: Int, signal: Int32 = SIGINT,
                               extra: [String] = []) throws -> (status: Int32, reason: Process.TerminationReason, text: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: admin)
        process.arguments = ["status", "--watch", "0.2", "--cdb", path] + extra
        var environment = ProcessInfo.processInfo.environment
        environment["FSHOST_PLUGIN_PATH"] = Self.products
        environment["FSHOST_RUN_DIR"] = directory + "/run"
        environment["FSHOST_STATE_DIR"] = directory + "/state"
        process.environment = environment
        process.standardOutput = FileHandle(fileDescriptor: stdoutFD, closeOnDealloc: false)
        process.standardError = FileHandle.nullDevice
        try process.run()
        close(stdoutFD)
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
        var text = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        func readSome(until deadline: Date) -> Bool {
            var entry = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, Int32(max(0, deadline.timeIntervalSinceNow) * 1000)) > 0 else { return false }
            let n = read(readFD, &buffer, buffer.count)
            guard n > 0 else { return false }
            text.append(contentsOf: buffer[0..<n])
            return true
        }
        let deadline = Date().addingTimeInterval(30)
        while String(decoding: text, as: UTF8.self).components(separatedBy: "RESOURCE").count - 1 < rounds {
            guard readSome(until: deadline) else { throw SetupFailure("watch printed \(text.count) bytes, not \(rounds) rounds") }
        }
        XCTAssertTrue(process.isRunning, "still watching")
        kill(process.processIdentifier, signal)
        while readSome(until: Date().addingTimeInterval(10)) {}
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason, String(decoding: text, as: UTF8.self))
    }

    func testStatusWatchRefreshesUntilSIGINT() throws {
        try ok(["cdb", "define", "template", "t1"])
        // A slow monitor: the interrupt may come while one runs.
        try ok(["cdb", "define", "testfixture", "slow", "port=1", "hang=300ms"])
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]) }
        let (status, reason, text) = try watchUntilInterrupted(stdoutFD: fds[1], readFD: fds[0], rounds: 3)
        XCTAssertEqual(reason, Process.TerminationReason.exit, "SIGINT ends the watch cleanly, not by the signal")
        XCTAssertEqual(status, 0)
        XCTAssertFalse(text.contains("\u{1B}"), "not a terminal: no colour, no cursor control")
        XCTAssertGreaterThanOrEqual(text.components(separatedBy: "2 resources: 2 healthy").count - 1, 2, text)
        // No monitor outlives the watch.
        Thread.sleep(forTimeInterval: 0.3)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { pid -> String? in
            guard Int(pid) != nil, let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
            let line = String(decoding: data, as: UTF8.self)
            return line.contains("monitor\u{0}slow\u{0}") && line.contains("fshost") ? line : nil
        } ?? []
        XCTAssertEqual(left, [])
    }

    func testStatusWatchOnATerminalRedrawsInPlaceWithColourAndRestoresTheCursor() throws {
        try ok(["cdb", "define", "template", "t1"])
        let (master, slave) = try openTerminal()
        defer { close(master) }
        let (status, reason, text) = try watchUntilInterrupted(stdoutFD: slave, readFD: master, rounds: 2)
        XCTAssertEqual(reason, Process.TerminationReason.exit)
        XCTAssertEqual(status, 0)
        XCTAssertTrue(text.hasPrefix("\u{1B}[?25l"), "the cursor is hidden while redrawing: \(text.debugDescription)")
        XCTAssertTrue(text.contains("\u{1B}[H\u{1B}[2J"), "each round redraws from the top")
        XCTAssertTrue(text.contains("\u{1B}[32mHA_SUCCESS\u{1B}[0m"), "green on a terminal: \(text.debugDescription)")
        XCTAssertTrue(text.hasSuffix("\u{1B}[?25h"), "the cursor is restored: \(text.debugDescription)")
    }

    /// A pseudo-terminal by hand (posix_openpt is not imported into
    /// Swift): /dev/ptmx, unlock (TIOCSPTLCK), its number (TIOCGPTN); the
    /// values are <asm-generic/ioctls.h>'s, as on x86_64 and arm64.
    /// Returns the master (the caller closes it) and the slave.
    func openTerminal() throws -> (master: Int32, slave: Int32) {
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard master >= 0 else { throw SetupFailure("open /dev/ptmx: \(String(cString: strerror(errno)))") }
        var unlock: Int32 = 0, number: UInt32 = 0
        guard ioctl(master, 0x4004_5431, &unlock) == 0, ioctl(master, 0x8004_5430, &number) == 0 else {
            close(master)
            throw SetupFailure("pseudo-terminal ioctl: \(String(cString: strerror(errno)))")
        }
        let slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard slave >= 0 else {
            close(master)
            throw SetupFailure("open /dev/pts/\(number): \(String(cString: strerror(errno)))")
        }
        return (master, slave)
    }

    /// SIGTERM and SIGHUP (a closed terminal, a supervisor) end the watch
    /// as Ctrl-C does: status 0, the cursor shown again.
    func testStatusWatchRestoresTheCursorOnSIGTERMAndSIGHUP() throws {
        try ok(["cdb", "define", "template", "t1"])
        for signal in [SIGTERM, SIGHUP] {
            let (master, slave) = try openTerminal()
            defer { close(master) }
            let (status, reason, text) = try watchUntilInterrupted(stdoutFD: slave, readFD: master, rounds: 1, signal: signal)
            XCTAssertEqual(reason, Process.TerminationReason.exit, "signal \(signal) ends it cleanly")
            XCTAssertEqual(status, 0, "signal \(signal)")
            XCTAssertTrue(text.hasSuffix("\u{1B}[?25h"), "signal \(signal): the cursor is restored: \(text.debugDescription)")
        }
    }
}
