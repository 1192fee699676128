// `fshost status`: what FailSafe's haStatus and Pacemaker's crm_mon show an
// operator, for this node: every resource in the CDB, its type, its
// monitoring level and a fresh monitor answer. Each answer is a real
// `fshost TYPE monitor RESOURCE --json` (FshostChild), so it takes the
// resource's lock, obeys its monitor_timeout and kills what it started,
// exactly as when the cluster manager asks.
import ArgumentParser
import CDB
import CSystemShims
import Foundation
import HAVocabulary
import Management
import PluginLoading

/// `fshost status [--json] [--watch SECONDS] [--parallel N] [--cdb PATH]`.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Monitor every resource in the CDB now and show the answers (like haStatus, crm_mon).",
        discussion: """
        Runs `fshost TYPE monitor RESOURCE --json` for every resource, at most --parallel at \
        a time, each with its own lock and monitor_timeout, and prints one line per resource \
        (sorted by type, then name): type, resource, monitoring level, status, milliseconds, \
        reason. Colour only when standard output is a terminal. A resource whose type has no \
        plugin installed is listed as "not installed" (HA_NOTSUPPORTED), not run. --json \
        prints one JSON object instead: {"resources":[{"type","resource","level","status",\
        "code","installed","reason","ms"}…],"healthy":N,"stopped":N,"failed":N}. \
        --watch SECONDS repeats it every SECONDS (in place on a terminal; one table or JSON \
        line per round otherwise) until SIGINT (Ctrl-C), SIGTERM or SIGHUP, which end it with \
        status 0, the cursor shown again.

        EXIT STATUS
          0 every resource is HA_SUCCESS (healthy) or HA_NOT_RUNNING (cleanly
            stopped: normal on a node that does not run it); no resources;
            --watch ended by SIGINT, SIGTERM or SIGHUP
          else the status of the first failing resource in the listing, e.g.
            3 HA_CMD_FAILED (also a monitor killed by a signal), 5 HA_NOTSUPPORTED
            (type not installed), 7 HA_PLUGIN_REFUSED, 8 HA_TIMEDOUT
          2 HA_INVAL_ARGS: bad command line (--watch not in 0.1-86400,
            --parallel not in 1-64)
          3 HA_CMD_FAILED: standard output could not be written; fshost could
            not be run
          6 HA_NOCFGINFO: CDB missing, unreadable, not initialised, damaged or
            insecure (writable by others)
          9 HA_HOST_ERROR: a relative --cdb or FSHOST_* path
        """)

    @OptionGroup var options: CDBOptions

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Option(help: ArgumentHelp("Repeat every SECONDS (0.1-86400) until interrupted.", valueName: "SECONDS"))
    var watch: Double?

    @Option(help: ArgumentHelp("Monitors run at once (1-64).", valueName: "N"))
    var parallel = 8

    func validate() throws {
        if let watch, !(0.1...86400).contains(watch) {
            throw ValidationError("--watch must be between 0.1 and 86400 seconds, not \(watch)")
        }
        guard (1...64).contains(parallel) else {
            throw ValidationError("--parallel must be between 1 and 64, not \(parallel)")
        }
    }

    func run() throws {
        let colour = !json && isatty(1) == 1
        guard let watch else {
            var status: Int32 = 0
            try CDBRun.perform { () throws(AdminError) in
                let rows = try StatusReport.gather(options, parallel: parallel, wake: nil)!
                try StandardOutput.write(json ? StatusReport.json(rows) + "\n" : StatusReport.table(rows, colour: colour))
                status = StatusReport.exitStatus(rows)
            }
            if status != 0 { throw ExitCode(status) }
            return
        }
        try CDBRun.perform { () throws(AdminError) in
            try Self.watchLoop(options, json: json, parallel: parallel, every: watch, terminal: isatty(1) == 1, colour: colour)
        }
    }

    /// Refreshes until SIGINT. A CDB unusable at the first round ends it
    /// with its status, as without --watch; one that becomes unusable
    /// later is one line per round (stderr, and in place of the table),
    /// not the end of the watch.
    static func watchLoop(_ options: CDBOptions, json: Bool, parallel: Int, every seconds: Double,
                          terminal: Bool, colour: Bool) throws(AdminError) {
        let wake = Interrupt.install()
        // Hide the cursor while redrawing; restore it however the loop ends.
        if terminal { try StandardOutput.write("\u{1B}[?25l") }
        defer { if terminal { try? StandardOutput.write("\u{1B}[?25h") } }
        var first = true
        while true {
            var frame: String
            do throws(AdminError) {
                guard let rows = try StatusReport.gather(options, parallel: parallel, wake: wake) else { break }
                frame = json ? StatusReport.json(rows) + "\n" : StatusReport.table(rows, colour: colour)
            } catch {
                // The first round answers like a single `status` (one line,
                // its status); later, a CDB being replaced or repaired is
                // shown in place of the table, and the watch goes on.
                if first { throw error }
                if case .failed = error { throw error }
                printError(error.description)
                frame = json ? "" : LogText.line("fshost: " + error.description) + "\n"
            }
            if terminal {
                // Home and clear: the new table replaces the old in place.
                frame = "\u{1B}[H\u{1B}[2J" + frame
            } else if !json && !first {
                frame = "\n" + frame
            }
            first = false
            try StandardOutput.write(frame)
            if Interrupt.wait(wake, milliseconds: Int32(seconds * 1000)) { break }
        }
    }
}

/// SIGINT, SIGTERM and SIGHUP for `--watch` and `verify`: the handler
/// writes the signal's number as one byte to a pipe (the self-pipe trick;
/// write(2) is async-signal-safe), which the wait between rounds and the
/// wait for monitors poll, so an interrupt is never lost between a check
/// and a sleep; the command ends cleanly (the cursor shown, the resource
/// stopped), not by the signal.
enum Interrupt {
    nonisolated(unsafe) private static var writeEnd: Int32 = -1
    nonisolated(unsafe) private static var readEnd: Int32 = -1

    /// The signals handled.
    static let signals = [SIGINT, SIGTERM, SIGHUP]

    /// Installs the handler once; returns the descriptor to poll.
    static func install() -> Int32 {
        if readEnd >= 0 { return readEnd }
        var fds: [Int32] = [-1, -1]
        guard csys_pipe_cloexec(&fds) == 0 else { return -1 }
        _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
        _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        writeEnd = fds[1]
        readEnd = fds[0]
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            var byte = UInt8(truncatingIfNeeded: signal)
            _ = write(Interrupt.writeEnd, &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        for signal in signals { sigaction(signal, &action, nil) }
        return fds[0]
    }

    /// The signal received, if one is pending on `fd` (consumed).
    static func pending(_ fd: Int32) -> Int32? {
        var byte: UInt8 = 0
        return read(fd, &byte, 1) == 1 ? Int32(byte) : nil
    }

    /// `SIGINT`, `SIGTERM`, `SIGHUP`, else `signal N`.
    static func name(_ signal: Int32) -> String {
        [SIGINT: "SIGINT", SIGTERM: "SIGTERM", SIGHUP: "SIGHUP"][signal] ?? "signal \(signal)"
    }

    /// Waits up to `milliseconds`; true when interrupted.
    static func wait(_ fd: Int32, milliseconds: Int32) -> Bool {
        let deadline = monotonicMilliseconds() + Int64(milliseconds)
        while true {
            let left = deadline - monotonicMilliseconds()
            if left <= 0 { return false }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let n = poll(&entry, 1, Int32(left))
            if n > 0 { return true }
            if n < 0 && errno != EINTR { return false }
        }
    }
}
