// What `fshost status` gathers and how it prints it: one row per resource
// of the CDB, with the answer of a fresh monitor run by fshost itself.
import CDB
import Foundation
import HAVocabulary
import Management
import PluginLoading

enum StatusReport {
    /// One resource's line.
    struct Row {
        var type: String
        var resource: String
        /// The level the monitor ran (from its JSON), else the configured
        /// `monitor_level` (resource, then type-level), else nil.
        var level: Int64?
        /// The monitor's exit status (``ExitStatus`` raw value).
        var code: Int32
        /// False when no plugin of `type` is installed (then not run).
        var installed: Bool
        /// The monitor's reason, control characters escaped, cut.
        var reason: String?
        /// Wall time of the monitor child, fork to reap (0 if not run).
        var milliseconds: Int

        var statusName: String {
            installed ? ExitStatus(rawValue: code)?.name ?? "status \(code)" : "not installed"
        }
        /// Healthy or cleanly stopped: not a failure.
        var isFine: Bool { code == ExitStatus.success.rawValue || code == ExitStatus.notRunning.rawValue }
    }

    /// Reads the CDB (read-only) and monitors every resource, at most
    /// `parallel` at a time.
    ///
    /// - Returns: the rows sorted by type then name, or nil when `wake`
    ///   became readable (SIGINT) while monitors ran.
    /// - Throws: the CDB's errors (6; 9 for a relative path) as
    ///   ``CDBRun/open(_:_:)`` gives them; ``AdminError/failed(_:)`` (3)
    ///   when no fshost executable can be run.
    static func gather(_ options: CDBOptions, parallel: Int, wake: Int32?) throws(AdminError) -> [Row]? {
        let database = try CDBRun.open(options, .readOnly)
        let snapshot: [TypeConfiguration]
        do throws(CDBError) {
            snapshot = try database.snapshot()
        } catch {
            throw .database(error)
        }
        let installed = Set(PluginSearchPath.fromEnvironment().installedTypes().map(\.type))
        var rows: [Row] = []
        var jobs: [FshostChild.Job] = []
        var jobRows: [Int] = []
        var fshost: String?
        for entry in snapshot.sorted(by: { $0.type < $1.type }) {
            for (name, attributes) in entry.resources.sorted(by: { $0.key < $1.key }) {
                let configured = (attributes[HostSetting.monitorLevel] ?? entry.typeAttributes[HostSetting.monitorLevel])
                    .flatMap { Int64($0) }
                guard installed.contains(entry.type) else {
                    rows.append(Row(type: entry.type, resource: name, level: configured,
                                    code: ExitStatus.notSupported.rawValue, installed: false,
                                    reason: "no plugin for type '\(entry.type)' is installed", milliseconds: 0))
                    continue
                }
                if fshost == nil {
                    switch RunningCheck.fshostExecutable() {
                    case .success(let path): fshost = path
                    case .failure(let error): throw .failed(error.message)
                    }
                }
                jobRows.append(rows.count)
                jobs.append(FshostChild.Job(executable: fshost!, arguments: [entry.type, "monitor", name, "--json"]))
                rows.append(Row(type: entry.type, resource: name, level: configured, code: 0, installed: true,
                                reason: nil, milliseconds: 0))
            }
        }
        var environment = ProcessInfo.processInfo.environment
        environment["FSHOST_CDB"] = options.resolvedPath
        let finished: [FshostChild.Finished]
        do {
            guard let done = try FshostChild.runAll(jobs, environment: environment, limit: parallel, wake: wake) else {
                return nil
            }
            finished = done
        } catch {
            throw .failed("cannot run \(fshost ?? "fshost"): \(error.localizedDescription)")
        }
        for (slot, result) in zip(jobRows, finished) {
            let answer = lastJSONObject(in: result.outcome.output)
            if let status = result.outcome.status {
                rows[slot].code = status
                rows[slot].reason = (answer?["reason"] as? String).map { LogText.clean($0, limit: 300) }
            } else {
                rows[slot].code = ExitStatus.commandFailed.rawValue
                rows[slot].reason = "the monitor was killed by a signal"
            }
            if let level = answer?["level"] as? NSNumber { rows[slot].level = level.int64Value }
            rows[slot].milliseconds = result.milliseconds
        }
        return rows
    }

    /// 0 when every row is healthy or cleanly stopped, else the first
    /// failing row's status.
    static func exitStatus(_ rows: [Row]) -> Int32 {
        rows.first { !$0.isFine }?.code ?? 0
    }

    /// The aligned table and a summary line; ANSI colours on the status
    /// cell when `colour` (green healthy, yellow stopped, red otherwise).
    static func table(_ rows: [Row], colour: Bool) -> String {
        if rows.isEmpty { return "no resources\n" }
        let header = ["TYPE", "RESOURCE", "LEVEL", "STATUS", "MS", "REASON"]
        let cells = rows.map { row in
            [row.type, row.resource, row.level.map(String.init) ?? "-", row.statusName, String(row.milliseconds),
             row.reason ?? ""]
        }
        let widths = (0..<header.count).map { column in ([header] + cells).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String], _ paint: String?) -> String {
            var out = ""
            for (column, cell) in cells.enumerated() {
                let last = column == cells.count - 1
                let padded = last ? cell : cell + String(repeating: " ", count: widths[column] - cell.count) + "  "
                if column == 3, let paint, colour { out += paint + cell + "\u{1B}[0m" + padded.dropFirst(cell.count) }
                else { out += padded }
            }
            while out.hasSuffix(" ") { out.removeLast() }
            return out + "\n"
        }
        var text = line(header, nil)
        for (row, cells) in zip(rows, cells) {
            let paint = row.code == ExitStatus.success.rawValue ? "\u{1B}[32m"
                : row.code == ExitStatus.notRunning.rawValue ? "\u{1B}[33m" : "\u{1B}[31m"
            text += line(cells, paint)
        }
        let counts = Self.counts(rows)
        text += "\(rows.count) resources: \(counts.healthy) healthy, \(counts.stopped) stopped, \(counts.failed) failed\n"
        return text
    }

    /// One JSON object on one line (no trailing newline).
    static func json(_ rows: [Row]) -> String {
        let resources: [[String: Any]] = rows.map { row in
            ["type": row.type, "resource": row.resource, "level": row.level.map { NSNumber(value: $0) } ?? NSNull(),
             "status": row.installed ? row.statusName : ExitStatus.notSupported.name, "code": Int(row.code),
             "installed": row.installed, "reason": row.reason ?? NSNull(), "ms": row.milliseconds]
        }
        let counts = Self.counts(rows)
        let object: [String: Any] = ["resources": resources, "healthy": counts.healthy, "stopped": counts.stopped,
                                     "failed": counts.failed]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    private static func counts(_ rows: [Row]) -> (healthy: Int, stopped: Int, failed: Int) {
        let healthy = rows.filter { $0.code == ExitStatus.success.rawValue }.count
        let stopped = rows.filter { $0.code == ExitStatus.notRunning.rawValue }.count
        return (healthy, stopped, rows.count - healthy - stopped)
    }

    /// The last JSON object on `data`'s lines (fshost's `--json` line).
    static func lastJSONObject(in data: Data) -> [String: Any]? {
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n").reversed() where line.hasPrefix("{") {
            if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] { return object }
        }
        return nil
    }
}
