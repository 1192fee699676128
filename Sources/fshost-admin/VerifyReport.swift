// How `fshost verify` shows what it found: an aligned table for a person at
// a terminal, one JSON object for a program; the same summary either way,
// and the exit status of the first failing step.
import Foundation
import HAVocabulary

struct VerifyReport {
    let type: String
    let resource: String
    let plugin: String?
    let steps: [VerifyStep]
    /// The signal that interrupted the sequence (``Interrupt``), if any.
    var interruptedBy: Int32? = nil

    /// The step during which the signal came (the one marked interrupted).
    var interruptedStep: VerifyStep? { steps.first { $0.detail?.hasPrefix("interrupted by ") == true } }

    /// The first step that failed (the one the exit message names).
    var failed: VerifyStep? { steps.first { $0.result == .failed } }

    /// Each lie caught, with the step that caught it (the first one only).
    var lies: [(lie: VerifyLie, step: String)] {
        var seen: Set<String> = []
        return steps.compactMap { step in
            guard let lie = step.lie, seen.insert(lie.rawValue).inserted else { return nil }
            return (lie, step.name)
        }
    }

    /// Advice for a failure that may be the configuration's, not the plugin's.
    var hints: [String] {
        // A resource configured at a level that checks nothing (ipfilter's
        // level 0, the FailSafe guide's "kernel filtering: nothing to
        // monitor") answers success for a stopped resource too, while a
        // deeper level of its type may tell: the lie stands (a cluster
        // monitors at the configured level), and the fix may be the level.
        let deepest = steps.compactMap(\.level).max()
        let stoppedButSucceeded = steps.contains {
            $0.name.hasPrefix("monitor (stopped") && $0.result == .failed && $0.code == ExitStatus.success.rawValue
                && ($0.level.map { level in deepest.map { level < $0 } ?? false } ?? false)
        }
        guard stoppedButSucceeded else { return [] }
        return ["hint: monitor answered HA_SUCCESS with the resource stopped: its monitoring level cannot tell stopped "
            + "from running (a level that checks nothing); set a higher one with `fshost cdb modify \(type) \(resource) "
            + "monitor_level=N` (levels: `fshost describe \(type)`)"]
    }

    /// 0 when nothing failed; 7 for a static check (HA_PLUGIN_REFUSED); the
    /// answer of a step that ended the sequence (a timeout 8, a configuration
    /// or host status); else 3 (HA_CMD_FAILED: the protocol does not hold).
    var exitStatus: Int32 {
        // 128 + N, the shell's convention for a command a signal ended.
        if let interruptedBy { return 128 + interruptedBy }
        guard let failed else { return 0 }
        if failed.isStatic { return ExitStatus.pluginRefused.rawValue }
        if let code = failed.code, VerifySequence.endsSequence(code) { return code }
        return ExitStatus.commandFailed.rawValue
    }

    /// One line: what holds, or which step failed and which lies were caught.
    var summary: String {
        if let interruptedBy {
            let last = steps.last.map { $0.result == .notRun ? "not run" : "answered \($0.answer)" } ?? "not run"
            return "\(type)/\(resource): interrupted by \(Interrupt.name(interruptedBy))"
                + (interruptedStep.map { " during step '\($0.name)'" } ?? "")
                + "; the last stop (step '\(steps.last?.name ?? "")') \(last)"
        }
        guard let failed else {
            let total = steps.reduce(0) { $0 + $1.milliseconds }
            return "\(type)/\(resource): the protocol holds (\(steps.filter { $0.result == .passed }.count) steps passed, "
                + "\(steps.filter { $0.result == .skipped }.count) skipped, \(total) ms)"
        }
        var line = "\(type)/\(resource): step '\(failed.name)' "
            + (failed.lie.map { "caught a lie (\($0.rawValue)), answering \(failed.answer)" }
               ?? "answered \(failed.answer) (expected \(failed.expected))")
        if let detail = failed.detail { line += ": \(detail)" }
        if !lies.isEmpty {
            line += "; lies caught: " + lies.map { "\($0.lie.rawValue) (step '\($0.step)')" }.joined(separator: ", ")
        }
        return line
    }

    /// The table, the lies, the hints and the summary.
    func table() -> String {
        let header = ["STEP", "RUNS", "EXPECTED", "ANSWER", "MS", "RESULT", "DETAIL"]
        let rows = steps.map { step -> [String] in
            let detail = (step.lie.map { "LIE: \($0.rawValue); " } ?? "") + (step.detail ?? "")
            return [step.name, step.command, step.expected, step.answer, step.result == .notRun ? "" : String(step.milliseconds),
                    step.result.rawValue, LogText.clean(detail, limit: 160)]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            var out = cells.enumerated().map { column, cell in
                column == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ")
            while out.hasSuffix(" ") { out.removeLast() }
            return out + "\n"
        }
        var text = line(header) + rows.map(line).joined()
        for (lie, step) in lies { text += "lie: \(lie.rawValue) (caught by step '\(step)')\n" }
        for hint in hints { text += hint + "\n" }
        return text + summary + "\n"
    }

    /// One JSON object on one line (no trailing newline).
    func json() -> String {
        let steps: [[String: Any]] = self.steps.map { step in
            ["step": step.name, "runs": step.command, "expected": step.expected, "answer": step.answer,
             "code": step.code.map { NSNumber(value: $0) } ?? NSNull(),
             "level": step.level.map { NSNumber(value: $0) } ?? NSNull(),
             "result": step.result.jsonName, "ms": step.milliseconds,
             "reason": step.detail ?? NSNull(), "lie": step.lie?.rawValue ?? NSNull()]
        }
        let status = exitStatus
        let object: [String: Any] = [
            "type": type, "resource": resource, "plugin": plugin ?? NSNull(), "holds": failed == nil,
            "code": Int(status), "status": ExitStatus(rawValue: status)?.name ?? "status \(status)",
            "failed_step": failed?.name ?? NSNull(),
            "interrupted": interruptedBy.map { Interrupt.name($0) } ?? NSNull(),
            "lies": lies.map { ["lie": $0.lie.rawValue, "step": $0.step] },
            "hints": hints, "summary": summary, "steps": steps,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
