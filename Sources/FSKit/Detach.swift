import CSystemShims
import TrustedPaths
#if canImport(Glibc)
import Glibc
#endif

/// Running a program that does not daemonise itself (a shell loop, a
/// server in the foreground) as a ``Daemon``: the SDK detaches it and
/// writes its pidfile, which is what a daemonising start command does for
/// itself (and what `ocf:heartbeat:anything` does in shell).
///
/// Set ``Launch/detach`` and the daemon's start spawns the command (the
/// ``Launch`` wrappers included: setpriv and env exec, so the pid stays):
///
/// - in **its own session** (`POSIX_SPAWN_SETSID`): no controlling
///   terminal, and not in the process group the host kills when the
///   action ends;
/// - stdin from `/dev/null`, stdout and stderr appended to ``output``
///   (created `0640` if missing; opened without following a symbolic link;
///   a FIFO or device is refused; the file and its directory held to the
///   host's trust rule, ``outputProblem(owners:)``) or to `/dev/null`: never the host's
///   stderr, which would hold the cluster manager's pipe open;
/// - with every descriptor above 2 closed, every signal at its default
///   and none blocked (the host's worker blocks some);
/// - with the resource's ``LaunchMark`` in its environment (replacing one
///   it inherited), so stop finds whatever it starts, however detached;
/// - then its pid goes to the pidfile (a temporary file in the same
///   directory, renamed over it: a reader never sees half a pid).
///
/// The rest is the daemon's ordinary life: readiness, identity in state,
/// the stop ladder, leftovers of its process group.
public struct Detach: Sendable, Equatable {
    /// Where the program's stdout and stderr go; nil: `/dev/null`.
    public var output: String?

    /// Output appended to `output` (an absolute path), or `/dev/null` when nil.
    public init(output: String? = nil) { self.output = output }

    /// glibc's `POSIX_SPAWN_SETSID` (spawn.h, since 2.26); Glibc's Swift
    /// module leaves the GNU flag out.
    static let setsid: Int32 = 0x80

    /// Why root must not append to ``output`` (nil when unset or fit): the
    /// path as given is walked (``PathTrust/checkDirectory(_:holdsFiles:)``
    /// on its directory: a symbolic link counts only when a trusted uid owns
    /// it in a directory nobody else can write, so a link another user
    /// plants in a sticky directory is refused wherever it points), the
    /// directory holding it writable by no one else, and the file, when it
    /// exists, a regular file owned by one of `owners`, not writable by
    /// group or others (``PathTrust``'s rule, the pidfile's and the log's).
    /// Appending as root through a path another user controls would let
    /// them grow any file root can write. For validate and for ``start``.
    ///
    /// - Parameter owners: the trusted uids (root, fshost's user, the user
    ///   the program runs as).
    public func outputProblem(owners: Set<UInt32> = [0, geteuid()]) -> String? {
        guard let output else { return nil }
        let trust = PathTrust(trustedOwners: owners)
        guard output.hasPrefix("/") else { return "output \(LogText.escaped(output)) must be an absolute path" }
        if let violation = trust.checkDirectory(PathTrust.parent(of: output)) { return "output \(output): \(violation)" }
        var st = stat()
        guard lstat(output, &st) == 0 else { return nil }  // created by start, 0640, in a trusted directory
        if st.st_mode & S_IFMT == S_IFLNK { return "output \(output) is a symbolic link (refused: it is opened without following one)" }
        guard st.st_mode & S_IFMT == S_IFREG else { return nil }  // start names the kind
        return trust.checkFile(st, path: output, role: "output file").map { "output \(output): \($0)" }
    }

    /// Spawns `argv` detached and writes its pid to `pidFile`; the pid, or
    /// why not (one line). `mark`: ``LaunchMark/entry(type:resource:pidFile:)``,
    /// added to the environment. `owners`: who may own ``output`` and its
    /// directories (``outputProblem(owners:)``, checked again on what was
    /// opened). When the pidfile cannot be written the
    /// start fails, and the host ends the process with the failed action.
    public func start(_ argv: [String], pidFile: PidFile, mark: String? = nil,
                      owners: Set<UInt32> = [0, geteuid()]) -> Result<Int32, DetachError> {
        guard let program = argv.first, !program.isEmpty else { return .failure(DetachError("empty command")) }
        if let why = outputProblem(owners: owners) { return .failure(DetachError(why)) }
        let outputPath = output ?? "/dev/null"
        let out = open(outputPath, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0o640)
        guard out >= 0 else { return .failure(DetachError("output \(outputPath): " + errnoText(errno))) }
        defer { close(out) }
        var st = stat()
        guard fstat(out, &st) == 0 else { return .failure(DetachError("output \(outputPath): " + errnoText(errno))) }
        let kind = FileKind(mode: st.st_mode)
        guard kind == .regular || (output == nil && kind == .characterDevice) else {
            return .failure(DetachError("output \(outputPath) is \(kind.article), not a regular file"))
        }
        // What was opened, judged again: a file swapped in after the path check.
        if output != nil, let why = TrustedFile.problem(descriptor: out, path: outputPath, role: "output file", owners: owners) {
            return .failure(DetachError("output \(outputPath): \(why)"))
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out, 1)
        posix_spawn_file_actions_adddup2(&actions, out, 2)
        csys_spawn_addclosefrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(Detach.setsid | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in 1..<65 where signal != SIGKILL && signal != SIGSTOP { sigaddset(&defaults, Int32(signal)) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        var environment: [UnsafeMutablePointer<CChar>?] = []
        var own: UnsafeMutablePointer<CChar>?
        if let mark {
            own = strdup(mark)
            environment.append(own)
            let prefix = LaunchMark.variable + "="
            var entry = environ
            while let variable = entry.pointee {
                if strncmp(variable, prefix, prefix.utf8.count) != 0 { environment.append(variable) }
                entry += 1
            }
            environment.append(nil)
        }
        defer { free(own) }
        let rc = mark == nil ? posix_spawnp(&pid, program, &actions, &attributes, &cArgs, environ)
            : posix_spawnp(&pid, program, &actions, &attributes, &cArgs, &environment)
        guard rc == 0 else { return .failure(DetachError("\(program): " + errnoText(rc))) }
        if let why = Detach.writePid(pid, to: pidFile.path) {
            // The start fails, so the host kills what the action started
            // (the SDK sends no signal of its own): a daemon nobody can find
            // does not stay.
            return .failure(DetachError("pidfile \(pidFile.path): \(why)"))
        }
        return .success(pid)
    }

    /// Writes `pid` + newline to `path` through a temporary file in its
    /// directory and `rename`; why not, or nil.
    static func writePid(_ pid: pid_t, to path: String) -> String? {
        let temporary = path + ".tmp.\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return errnoText(errno) }
        let text = Array("\(pid)\n".utf8)
        let written = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let ok = written == text.count && fsync(fd) == 0
        let error = errno
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            let why = errnoText(ok ? errno : error)
            unlink(temporary)
            return why
        }
        return nil
    }
}

/// Why a detached start failed.
public struct DetachError: Error, Sendable, CustomStringConvertible {
    /// One line: what failed and why (`output /x: Permission denied`).
    public let description: String
    /// The error with its one-line text.
    public init(_ description: String) { self.description = description }
}
