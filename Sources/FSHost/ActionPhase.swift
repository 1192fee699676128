import HostLock

/// What an action is doing, named in the timeout message ("timed out while
/// waiting for the resource lock, held by another action").
enum ActionPhase: Int {
    case starting, waitingForLock, creatingInstance, runningPlugin, waitingForProcesses, stoppingProcesses, retrying

    var description: String {
        switch self {
        case .starting: "starting"
        case .waitingForLock: "waiting for the resource lock, held by another action"
        case .creatingInstance: "creating the plugin instance"
        case .runningPlugin: "in the plugin"
        case .waitingForProcesses: "waiting for the declared processes to appear"
        case .stoppingProcesses: "making sure the declared processes are gone"
        case .retrying: "between monitor probes"
        }
    }
}

/// The phase of a running action: written by the worker thread, read by the
/// watchdog thread when the deadline passes.
final class ActionPhaseTracker: Sendable {
    private let current = Locked<Int>(ActionPhase.starting.rawValue)

    var phase: ActionPhase {
        get { ActionPhase(rawValue: current.load()) ?? .starting }
        set { current.store(newValue.rawValue) }
    }
}
