#if canImport(Glibc)
import Glibc
#endif

/// The other commands of this process's own shell pipeline.
///
/// In `fshost exec2 -s 0 -t X | grep X` the `grep X` has X in its command
/// line and would be found (and with `-s TERM`, killed) by the very check it
/// filters. A shell starts every command of a pipeline in one process group
/// (the shell's own without job control, a new one with it), connected by
/// pipes. The rule: a process is in this pipeline when it is in this
/// process's group and
/// - it reads a pipe this process writes (its stdin is our stdout), or
///   writes a pipe this process reads (its stdout is our stdin), or
/// - it is connected the same way to one that is (`… | cat | grep X`).
///
/// A process that merely shares our stdout pipe (a daemon a script started
/// in the background, whose output goes where the script's goes) writes in
/// the same direction and is *not* in the pipeline: it is what a check
/// looks for. Pipes are compared by inode (`stat` of `/proc/PID/fd/0` and
/// `/fd/1`); reading another user's fds needs root or the same user, and a
/// process whose fds cannot be read is not counted in the pipeline.
public enum Pipeline {
    /// The pids of this process's pipeline, without this process; empty when
    /// neither its stdin nor its stdout is a pipe. Scans `/proc` once
    /// (``ProcessTable/members(ofGroup:matching:startedSince:)``): call it
    /// only when a candidate is in this process group.
    public static func members() -> Set<Int32> {
        let myIn = pipeInode(fd: 0)
        let myOut = pipeInode(fd: 1)
        guard myIn != nil || myOut != nil else { return [] }
        let group = getpgrp()
        let others = ProcessTable.members(ofGroup: group).map { e in
            (pid: e.pid, input: pipeInode(path: "/proc/\(e.pid)/fd/0"), output: pipeInode(path: "/proc/\(e.pid)/fd/1"))
        }
        var downstream: Set<PipeID> = myOut.map { [$0] } ?? []
        var upstream: Set<PipeID> = myIn.map { [$0] } ?? []
        var result: Set<Int32> = []
        var changed = true
        while changed {
            changed = false
            for p in others where !result.contains(p.pid) {
                if let input = p.input, downstream.contains(input) {
                    result.insert(p.pid)
                    if let output = p.output { downstream.insert(output) }
                    changed = true
                } else if let output = p.output, upstream.contains(output) {
                    result.insert(p.pid)
                    if let input = p.input { upstream.insert(input) }
                    changed = true
                }
            }
        }
        result.remove(getpid())
        return result
    }

    /// A pipe's identity: device (pipefs) and inode.
    struct PipeID: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    private static func pipeInode(fd: Int32) -> PipeID? {
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFIFO else { return nil }
        return PipeID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    private static func pipeInode(path: String) -> PipeID? {
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFIFO else { return nil }
        return PipeID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }
}
