// Whether a resource runs on this node, asked of the action path itself:
// `fshost TYPE exclusive RESOURCE`, the question a cluster manager asks
// before a start. Deleting a running resource from the CDB (or dropping it
// in an import) would leave its processes with nothing that can stop them.
import CDB
import Foundation
import HAVocabulary
import Management
import PluginLoading

enum RunningCheck {
    /// What `exclusive` answered.
    enum Answer: Equatable {
        /// `HA_NOT_RUNNING`: safe to remove.
        case notRunning
        /// `HA_RUNNING`, with the action's reason (what runs).
        case running(String)
        /// Anything else (no plugin, a refused plugin, a timeout, an
        /// invalid configuration): fshost cannot tell.
        case unknown(String)
    }

    /// The `fshost` executable: beside `fshost-admin` (the build tree, or
    /// both installed in one directory), else `<prefix>/bin/fshost` when
    /// this is `<prefix>/libexec/fshost/fshost-admin` (as HostPaths lays
    /// them out). It runs as root, so the first one that exists must pass
    /// ``TrustedExecutable``'s check (PathTrust's rule on the file and its
    /// directories up to `/`); the resolved path that passed is run.
    ///
    /// - Returns: the checked, resolved path, or why none can be run.
    static func fshostExecutable() -> Result<String, HostError> {
        let own = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        var candidates = [own.appendingPathComponent("fshost").path]
        if own.path.hasSuffix("/libexec/fshost") {
            candidates.append(own.deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("bin/fshost").path)
        }
        guard let found = candidates.first(where: { access($0, X_OK) == 0 }) else {
            return .failure(HostError(.hostError, "the fshost executable was not found beside fshost-admin to ask whether it runs"))
        }
        do throws(HostError) {
            let checked = try TrustedExecutable.open(found, what: "the fshost executable")
            close(checked.descriptor)
            return .success(checked.resolvedPath)
        } catch {
            return .failure(error)
        }
    }

    /// Runs `fshost TYPE exclusive RESOURCE --json` against the CDB at
    /// `cdb` (the other paths come from the environment, as HostPaths
    /// exports them) and reads its status and reason.
    static func ask(type: String, resource: String, cdb: String) -> Answer {
        let fshost: String
        switch fshostExecutable() {
        case .success(let path): fshost = path
        case .failure(let error): return .unknown(error.message)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["FSHOST_CDB"] = cdb
        // The fshost child dies with this process (FshostChild): a killed
        // delete leaves no exclusive running, holding the resource's lock.
        let outcome: FshostChild.Outcome
        do {
            outcome = try FshostChild.run(fshost, [type, "exclusive", resource, "--json"], environment: environment,
                                          captureOutput: true)
        } catch {
            return .unknown("cannot run \(fshost): \(error.localizedDescription)")
        }
        let data = outcome.output
        let status = outcome.status ?? -1
        let reason = Self.reason(in: data)
        switch status {
        case ExitStatus.notRunning.rawValue:
            return .notRunning
        case ExitStatus.running.rawValue:
            return .running(reason ?? "exclusive answered HA_RUNNING")
        default:
            let name = ExitStatus(rawValue: status)?.name ?? (status < 0 ? "a signal" : "status \(status)")
            return .unknown("'fshost \(type) exclusive \(resource)' answered \(name)" + (reason.map { ": " + $0 } ?? ""))
        }
    }

    /// The `reason` of the last JSON object on `data`'s lines.
    static func reason(in data: Data) -> String? {
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n").reversed() where line.hasPrefix("{") {
            if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] {
                return object["reason"] as? String
            }
        }
        return nil
    }

    /// Refuses (unless `force`) to remove resources that run here or whose
    /// state fshost cannot tell; returns the warnings to print when forced.
    ///
    /// - Throws: ``AdminError/resourceRuns(_:)`` (4) when one runs,
    ///   ``AdminError/failed(_:)`` (3) when fshost cannot tell.
    static func refuseRemoving(_ names: [ImportPlan.Name], cdb: String, force: Bool) throws(AdminError) -> [String] {
        try refuseRemoving(names.map { ($0, ask(type: $0.type, resource: $0.name, cdb: cdb)) }, force: force)
    }

    /// ``refuseRemoving(_:cdb:force:)`` on answers already had.
    static func refuseRemoving(_ answers: [(ImportPlan.Name, Answer)], force: Bool) throws(AdminError) -> [String] {
        var warnings: [String] = []
        for (name, answer) in answers {
            switch answer {
            case .notRunning:
                continue
            case .running(let reason):
                guard force else {
                    throw .resourceRuns("\(name) runs on this node (\(reason)); removing it from the CDB would leave it "
                        + "running with no fshost action able to stop it: stop it first (fshost \(name.type) stop \(name.name)), "
                        + "or give --force")
                }
                warnings.append("\(name) was removed while it runs on this node (\(reason)); its processes are left "
                    + "running and no fshost action can stop them now: stop them by hand")
            case .unknown(let why):
                guard force else {
                    throw .failed("cannot tell whether \(name) runs on this node (\(why)); nothing removed: "
                        + "give --force to remove it anyway")
                }
                warnings.append("\(name) was removed without knowing whether it runs on this node (\(why)); "
                    + "if it does, its processes are left running")
            }
        }
        return warnings
    }
}
