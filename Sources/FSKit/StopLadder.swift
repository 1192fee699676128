#if canImport(Glibc)
import Glibc
#endif

/// How a daemon is stopped, declared: steps tried in order, each given its
/// share of the stop budget, until the master is gone. A step either runs
/// a command (the server's own graceful stop) or sends a signal to the
/// master (and, with `group`, to every process of its process group).
///
/// nginx (its documented signals: QUIT graceful, TERM fast):
/// ```swift
/// StopLadder(.command("quit", ["/usr/sbin/nginx", "-c", conf, "-s", "quit"], share: 6),
///            .signal("TERM", SIGTERM, share: 3),
///            .signal("KILL", SIGKILL, share: 1, group: true))
/// ```
/// PostgreSQL (`pg_ctl stop -m smart|fast|immediate` sends the postmaster
/// TERM, INT and QUIT):
/// ```swift
/// StopLadder(.signal("smart", SIGTERM, share: 5), .signal("fast", SIGINT, share: 3),
///            .signal("immediate", SIGQUIT, share: 2), .signal("KILL", SIGKILL, share: 1, group: true))
/// ```
public struct StopLadder: Sendable, Equatable {
    /// One rung.
    public struct Step: Sendable, Equatable {
        /// What a step does.
        public enum Action: Sendable, Equatable {
            /// Run this argv (no shell), with the daemon's user, environment
            /// and working directory; killed at the step's budget.
            case command([String])
            /// Send this signal to the master (only while it is still the
            /// same process: the host's pid + start-time guard).
            case signal(Int32, group: Bool)
        }
        /// For the log: "quit", "TERM", "fast".
        public var name: String
        /// The command to run or the signal to send.
        public var action: Action
        /// Relative weight of this step's wait; shares need not add up to anything.
        public var share: Double

        /// A step that runs `argv` (no shell); `share` > 0 weighs its wait.
        public static func command(_ name: String, _ argv: [String], share: Double) -> Step {
            Step(name: name, action: .command(argv), share: share)
        }
        /// A step that sends `signal` to the master (and its process group with
        /// `group`); `share` > 0 weighs its wait.
        public static func signal(_ name: String, _ signal: Int32, share: Double, group: Bool = false) -> Step {
            Step(name: name, action: .signal(signal, group: group), share: share)
        }
    }

    /// The rungs, tried in order.
    public var steps: [Step]

    /// A ladder of `steps`, in order (``problem`` says what cannot work).
    public init(_ steps: Step...) { self.steps = steps }
    /// A ladder of `steps` given as an array.
    public init(steps: [Step]) { self.steps = steps }

    /// nginx's graceful QUIT (through `quitCommand`), fast TERM, then KILL to
    /// the master and its workers: 60 / 30 / 10.
    public static func nginx(quitCommand: [String]) -> StopLadder {
        StopLadder(.command("quit", quitCommand, share: 6), .signal("TERM", SIGTERM, share: 3),
                   .signal("KILL", SIGKILL, share: 1, group: true))
    }

    /// Why the declaration cannot work, or nil: no steps, a share that is
    /// not positive, an empty command, a signal out of range.
    public var problem: String? {
        if steps.isEmpty { return "a stop ladder needs at least one step" }
        for step in steps {
            guard step.share > 0, step.share.isFinite else { return "step '\(step.name)': share must be more than 0" }
            switch step.action {
            case .command(let argv): if argv.first?.isEmpty ?? true { return "step '\(step.name)': empty command" }
            case .signal(let s, _): if s <= 0 || s >= 65 { return "step '\(step.name)': no signal \(s)" }
            }
        }
        return nil
    }

    /// The wait of step `index` when `left` remains for it and the steps
    /// after it: its share of what is left, so time a step did not use (a
    /// command that failed at once) goes to the steps after it.
    public func budget(ofStep index: Int, left: Duration) -> Duration {
        let rest = steps[index...].reduce(0) { $0 + $1.share }
        guard rest > 0, left > .zero else { return .zero }
        return left * (steps[index].share / rest)
    }

    /// Each step's wait out of `total` when every step uses all of its share.
    public func budgets(for total: Duration) -> [Duration] {
        let sum = steps.reduce(0) { $0 + $1.share }
        return steps.map { sum > 0 ? total * ($0.share / sum) : .zero }
    }
}
