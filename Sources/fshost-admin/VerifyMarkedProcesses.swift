// What `fshost verify` looks for after each stop: processes carrying the
// resource's launch mark (FSKit's LaunchMark, `FSHOST_RESOURCE=<type>/<resource>
// <pidfile>` in the environment, put there by the SDK's Detach and inherited
// by whatever that process starts). The host's own check after stop sees
// only the processes a plugin declares; a plugin that declares none and
// leaves its detached daemon would otherwise pass, though verify promises to
// leave the resource stopped.
import Foundation
import HAVocabulary

struct VerifyMarkedProcesses {
    /// `FSHOST_RESOURCE=<type>/<resource> `: the mark without its pidfile,
    /// which verify cannot know (the plugin chooses it).
    let prefix: [UInt8]
    /// Marked processes that ran before verify began: not verify's to judge
    /// or end (another state directory's resource of the same name, say).
    private(set) var before: Set<Int32> = []

    init(type: String, resource: String) {
        prefix = Array("FSHOST_RESOURCE=\(type)/\(resource) ".utf8)
        before = Set(scan())
    }

    /// Marked processes that appeared since verify began, owned by root or
    /// by verify's user (another local user can put the mark in their own
    /// processes' environment; those are not the resource's), lowest first.
    func appeared() -> [Int32] { scan().filter { !before.contains($0) } }

    /// Every process whose initial environment (`/proc/PID/environ`, at
    /// most 256 KiB) holds a variable starting with `prefix`.
    private func scan() -> [Int32] {
        let me = getpid()
        let owners: Set<UInt32> = [0, geteuid()]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap(Int32.init).filter { pid in
            guard pid != me else { return false }
            var st = stat()
            guard stat("/proc/\(pid)", &st) == 0, owners.contains(st.st_uid),
                  let handle = FileHandle(forReadingAtPath: "/proc/\(pid)/environ") else { return false }
            defer { try? handle.close() }
            let bytes = (try? handle.read(upToCount: 256 << 10)) ?? Data()
            return bytes.split(separator: 0).contains { $0.starts(with: prefix) }
        }.sorted()
    }

    /// Ends what appeared: TERM, then KILL after up to `grace` milliseconds.
    func endAppeared(grace: Int = 2000) {
        var left = appeared()
        guard !left.isEmpty else { return }
        for pid in left { kill(pid, SIGTERM) }
        let deadline = monotonicMilliseconds() + Int64(grace)
        while !left.isEmpty && monotonicMilliseconds() < deadline {
            usleep(50_000)
            left = appeared()
        }
        for pid in left { kill(pid, SIGKILL) }
    }
}
