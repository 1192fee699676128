#if canImport(Glibc)
import Glibc
#endif

extension Daemon {
    /// Before a start: what must hold of the node for a program that the SDK
    /// starts as root (a type whose start command is an attribute). The
    /// program (the start command's first word) must be an absolute path
    /// to an executable regular file that only `owners` can write, up to `/`
    /// (``TrustedFile/executableProblem(_:owners:)``, the host's rule); the
    /// pidfile must be creatable, in a place whose directories pass the
    /// same rule (``PidFile/placeProblem()``); a detached program's output
    /// file too (``Detach/outputProblem(owners:)``). The first that fails is
    /// HA_NOCFGINFO naming `startAttribute`, ``pidFileAttribute`` or `outputAttribute`;
    /// success otherwise. Reads the file system only; starts nothing.
    public func setupProblem(startAttribute: String = "start_command", outputAttribute: String = "output", owners: Set<UInt32> = [0, geteuid()]) -> Outcome {
        if let problem = TrustedFile.executableProblem(startCommand.first ?? "", owners: owners) {
            return .badConfiguration("attribute '\(startAttribute)': \(problem)")
        }
        if let problem = FileCheck.creatableFileProblem(pidFile.path) ?? pidFile.placeProblem() {
            return .badConfiguration("attribute '\(pidFileAttribute)': \(pidFile.path): \(problem)")
        }
        if let problem = launch.detach?.outputProblem(owners: markOwners) {
            return .badConfiguration("attribute '\(outputAttribute)': \(problem)")
        }
        return .success
    }
}
