// The behaviour `fshost verify` drives a resource through, each step a real
// `fshost TYPE ACTION RESOURCE --json` (FshostChild), so the host's
// enforcement is on exactly as for the cluster manager: the lock, the
// deadline, validate before start, the declared processes present after
// start and gone after stop (the host's /proc scanner; TERM → KILL), and a
// monitor's success overruled when a declared process is missing.
//
// The order is ocf-tester's, made stricter: the deepest level must pass the
// moment start returns (no retries: `--retries 0`), every level must pass,
// exclusive must say running, a stop that needed the host's help fails, and
// restart must leave the resource healthy. The sequence begins and ends
// with a stop, so the resource is left stopped.
import Foundation
import HAVocabulary
import PluginLoading

struct VerifySequence {
    let fshost: String
    let type: String
    let resource: String
    let environment: [String: String]
    /// The type's levels, shallowest first.
    let levels: [LevelInfo]

    /// What one step runs and expects.
    struct Plan {
        var name: String
        var action: String
        var options: [String] = []
        var expected: [ExitStatus]
    }

    /// The steps, in order.
    var plans: [Plan] {
        let deepest = levels.last?.number ?? 0
        var plans: [Plan] = [
            Plan(name: "stop (to begin stopped)", action: "stop", expected: [.success]),
            Plan(name: "monitor (stopped)", action: "monitor", options: ["--retries", "0"], expected: [.notRunning]),
            Plan(name: "exclusive (stopped)", action: "exclusive", expected: [.notRunning]),
            Plan(name: "start", action: "start", expected: [.success]),
            Plan(name: "level \(deepest) right after start", action: "monitor",
                 options: ["--level", String(deepest), "--retries", "0"], expected: [.success]),
            Plan(name: "start again", action: "start", expected: [.success]),
        ]
        for level in levels {
            plans.append(Plan(name: "level \(level.number) (\(level.name))", action: "monitor",
                              options: ["--level", String(level.number), "--retries", "0"], expected: [.success]))
        }
        plans += [
            Plan(name: "exclusive (running)", action: "exclusive", expected: [.running]),
            Plan(name: "stop", action: "stop", expected: [.success]),
            Plan(name: "stop again", action: "stop", expected: [.success]),
            Plan(name: "monitor (stopped again)", action: "monitor", options: ["--retries", "0"], expected: [.notRunning]),
            Plan(name: "exclusive (stopped again)", action: "exclusive", expected: [.notRunning]),
            Plan(name: "restart", action: "restart", expected: [.success]),
            Plan(name: "monitor after restart", action: "monitor", options: ["--retries", "0"], expected: [.success]),
            Plan(name: "stop (to end stopped)", action: "stop", expected: [.success]),
        ]
        return plans
    }

    /// An answer after which the rest of the sequence cannot tell anything:
    /// a timeout, a configuration or host problem, a refused plugin.
    static func endsSequence(_ code: Int32?) -> Bool {
        guard let code else { return true }
        return [ExitStatus.invalidArguments, .notSupported, .noConfigInfo, .pluginRefused, .timedOut, .hostError]
            .map(\.rawValue).contains(code)
    }

    /// Runs every step (`progress` shows which), and after a step that ends
    /// the sequence, a last stop if anything may have been started. A
    /// signal on `interrupt` (``Interrupt``: SIGINT, SIGTERM, SIGHUP) ends
    /// the sequence after the step it came during (each bounded by its own
    /// timeout), which is marked interrupted; then the last stop, as for a
    /// timeout. Returns the steps and the signal, if one came.
    func run(progress: TerminalProgress, interrupt: Int32) -> (steps: [VerifyStep], signal: Int32?) {
        let plans = self.plans
        var steps = plans.map { plan in
            VerifyStep(name: plan.name, command: ([plan.action] + plan.options).joined(separator: " "),
                       expected: plan.expected.map(\.name).joined(separator: "/"))
        }
        var mayRun = false
        let marked = VerifyMarkedProcesses(type: type, resource: resource)
        // Whatever carries the mark is ended when verify ends, lie or not.
        defer { marked.endAppeared() }
        for (index, plan) in plans.enumerated() {
            progress.show("verify \(type)/\(resource): step \(index + 1)/\(plans.count) \(plan.name)")
            if plan.action == "start" || plan.action == "restart" { mayRun = true }
            steps[index] = run(plan, into: steps[index])
            if plan.action == "stop" && steps[index].code == ExitStatus.success.rawValue {
                let left = marked.appeared()
                if !left.isEmpty {
                    // The host checks only what the plugin declares.
                    steps[index].result = .failed
                    steps[index].lie = steps[index].lie ?? .stopLeavesProcess
                    steps[index].detail = "process(es) carrying its launch mark (FSHOST_RESOURCE=\(type)/\(resource)) "
                        + "still run after stop: pid " + left.map(String.init).joined(separator: ", ")
                        + (steps[index].detail.map { "; " + $0 } ?? "")
                }
            }
            // Monitor said not running before start and says success after
            // stop: the monitor can tell, so the stop is what lied.
            if plan.name == "monitor (stopped again)", steps[index].lie == .monitorAlwaysSucceeds,
               steps.first(where: { $0.name == "monitor (stopped)" })?.result == .passed {
                steps[index].lie = .stopKeepsRunning
            }
            let signal = Interrupt.pending(interrupt)
            if let signal {
                steps[index].result = .failed
                steps[index].detail = "interrupted by \(Interrupt.name(signal))" + (steps[index].detail.map { "; " + $0 } ?? "")
            }
            if Self.endsSequence(steps[index].code) || signal != nil {
                // The last step is the final stop: run it now, in its own row.
                if mayRun && (plan.action != "stop" || signal != nil), index < plans.count - 1, let last = plans.last {
                    progress.show("verify \(type)/\(resource): stopping what may have started")
                    steps[plans.count - 1] = run(last, into: steps[plans.count - 1])
                }
                return (steps, signal ?? Interrupt.pending(interrupt))
            }
        }
        return (steps, Interrupt.pending(interrupt))
    }

    /// Runs one step and judges its answer.
    private func run(_ plan: Plan, into step: VerifyStep) -> VerifyStep {
        var step = step
        let started = monotonicMilliseconds()
        let outcome: FshostChild.Outcome
        do {
            outcome = try FshostChild.run(fshost, [type, plan.action, resource] + plan.options + ["--json"],
                                          environment: environment, captureOutput: true)
        } catch {
            step.milliseconds = Int(monotonicMilliseconds() - started)
            step.result = .failed
            step.answer = "not run"
            step.detail = "cannot run \(fshost): \(error.localizedDescription)"
            return step
        }
        step.milliseconds = Int(monotonicMilliseconds() - started)
        step.code = outcome.status
        let answer = StatusReport.lastJSONObject(in: outcome.output)
        step.detail = (answer?["reason"] as? String).map { LogText.clean($0, limit: 400) }
        step.level = (answer?["level"] as? NSNumber).map { $0.uint32Value }
        guard let code = outcome.status else {
            step.result = .failed
            step.answer = "killed by a signal"
            return step
        }
        step.answer = ExitStatus(rawValue: code)?.name ?? "status \(code)"
        step.result = plan.expected.map(\.rawValue).contains(code) ? .passed : .failed
        step.lie = lie(plan, code: code, reason: step.detail ?? "")
        if step.lie != nil { step.result = .failed }
        return step
    }

    /// The lie an answer shows, if any.
    private func lie(_ plan: Plan, code: Int32, reason: String) -> VerifyLie? {
        switch plan.action {
        case "stop" where reason.contains(PluginLie.stopLeftProcess):
            return .stopLeavesProcess
        case "monitor" where plan.expected == [.notRunning]:
            // Success on a stopped resource, or a success the host overruled
            // because the declared process is missing. What a level is named
            // buys no exemption: a cluster relies on monitor and exclusive
            // whatever the plugin calls its levels (a "none" level that
            // always says success passed verify once, with an exclusive that
            // lets a resource start twice).
            let succeeded = code == ExitStatus.success.rawValue
                || (code == ExitStatus.commandFailed.rawValue && reason.contains(PluginLie.monitorSuccessWithoutProcess))
            return succeeded ? .monitorAlwaysSucceeds : nil
        case "monitor" where plan.name.hasSuffix("right after start"):
            return code == ExitStatus.success.rawValue ? nil : .startReturnsEarly
        case "exclusive" where plan.expected == [.running]:
            return code == ExitStatus.notRunning.rawValue ? .exclusiveNeverRunning : nil
        default:
            return nil
        }
    }
}
