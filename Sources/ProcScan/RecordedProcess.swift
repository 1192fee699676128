// A process known by the identity recorded when it was started, whatever it
// is called now. No Foundation: this runs on every monitor.

/// Whether the process a resource recorded (pid + start time, read from
/// `/proc` right after it was started) still runs: the pid names a live
/// process (not a zombie) that started at exactly that time — the kernel
/// never gives one pid to two processes with the same start time — and
/// ``ProcessOwnerRule`` admits it without a name (root or the host's uid
/// runs it) or, when the resource declares the user it runs as (`owner`),
/// its real and effective uid are that user's: the process the host
/// started through `setpriv` as that user (a log writer's `user`).
///
/// The name is not asked: a program that `exec`s another (a wrapper script
/// ending in `exec server …`) keeps its pid and start time but takes the
/// new program's name; it is still the process that was started. A start
/// time of 0 (unknown) is never such an identity.
public enum RecordedProcess {
    public static func runs(pid: Int32, startTime: UInt64, owner: UInt32? = nil) -> Bool {
        guard pid > 0, startTime != 0, let entry = ProcessEntry(pid: pid), entry.startTime == startTime else { return false }
        if let owner, let uids = readUids(pid: pid), uids.real == owner, uids.effective == owner,
           processStartTime(pid: pid) == startTime {
            return true
        }
        return ProcessOwnerRule.admits(entry, name: nil)
    }
}
