// `cdb modify`, `modify-type` and `import` of a resource that runs on this
// node: refused unless --force (CDB's `RunningChange` says which keys), as
// `cdb delete` refuses to remove one. The question is RunningCheck's:
// `fshost TYPE exclusive RESOURCE`, against the CDB before the change.
import CDB
import Management

extension RunningCheck {
    /// Refuses (unless `force`) to change `keys` of resources that run here
    /// or whose state fshost cannot tell; returns the warnings to print
    /// when forced.
    ///
    /// - Throws: ``AdminError/resourceRuns(_:)`` (4) when one runs,
    ///   ``AdminError/failed(_:)`` (3) when fshost cannot tell.
    static func refuseChanging(_ changes: [(name: ImportPlan.Name, keys: [String])], cdb: String,
                               force: Bool) throws(AdminError) -> [String] {
        try refuseChanging(changes.map { ($0.name, $0.keys, ask(type: $0.name.type, resource: $0.name.name, cdb: cdb)) },
                           force: force)
    }

    /// ``refuseChanging(_:cdb:force:)`` on answers already had.
    static func refuseChanging(_ answers: [(ImportPlan.Name, [String], Answer)], force: Bool) throws(AdminError) -> [String] {
        var warnings: [String] = []
        for (name, keys, answer) in answers {
            let what = keys.joined(separator: ", ")
            switch answer {
            case .notRunning:
                continue
            case .running(let reason):
                guard force else {
                    throw .resourceRuns("\(name) runs on this node (\(reason)); changing \(what) could change how fshost "
                        + "finds and stops it, leaving it running with no action able to stop it: stop it first "
                        + "(fshost \(name.type) stop \(name.name)), change only host settings (timeouts, retries, "
                        + "retry_interval, monitor_level), or give --force")
                }
                warnings.append("\(name) was changed (\(what)) while it runs on this node (\(reason)); if the change "
                    + "moves where fshost finds or how it stops it, its processes are left running: stop them by hand")
            case .unknown(let why):
                guard force else {
                    throw .failed("cannot tell whether \(name) runs on this node (\(why)); nothing changed: "
                        + "give --force to change \(what) anyway")
                }
                warnings.append("\(name) was changed (\(what)) without knowing whether it runs on this node (\(why)); "
                    + "if it does and the change moves where fshost finds it, its processes are left running")
            }
        }
        return warnings
    }
}
