// What a badly behaved plugin does to the process it runs in, on demand
// (attribute `fault`), so the host's tests can show that none of it fakes
// an answer, breaks stdout or leaves a process behind.
import FSKit
#if canImport(Glibc)
import Glibc
#endif

enum Fault: String {
    /// exit(0) in the middle of the action: "healthy", if the host believed it.
    case exit0
    /// abort(): SIGABRT.
    case abort
    /// A real invalid write: SIGSEGV.
    case crash
    /// Swift's fatalError (the runtime's own crash path).
    case fatal
    /// Prints to stdout (stdio and write(2)), then answers success.
    case stdout
    /// Forks a child that sleeps 30 s holding stdout and stderr, then hangs
    /// in the plugin (the host must abandon it at the deadline).
    case fork
    /// Forks such a child and answers at once, as if all were well.
    case orphan
    /// SIGSTOP to its own process: the host's watchdog thread stops with
    /// it, so only the supervisor can end the action.
    case freeze
    /// chdir("/proc") and answers: the worker's cwd is left changed.
    case chdir
    /// unshare(CLONE_NEWNET) and answers: the worker's thread is left in a
    /// new network namespace (as a plugin's setns that could not go back).
    case netns

    /// Does the fault; returns only for `stdout`, `orphan`, `chdir` and `netns`.
    func happen() {
        switch self {
        case .exit0: Glibc.exit(0)
        case .abort: Glibc.abort()
        case .crash:
            let address = UnsafeMutablePointer<Int32>(bitPattern: 16)!
            address.pointee = 42
        case .fatal: fatalError("fixture fault: fatal")
        case .stdout:
            print("plugin line printed with print()")
            let text = "plugin line written to fd 1\n"
            _ = text.withCString { write(1, $0, strlen($0)) }
        case .fork:
            forkSleeper()
            sleep(60)
        case .orphan:
            forkSleeper()
        case .freeze:
            raise(SIGSTOP)
        case .chdir:
            _ = Glibc.chdir("/proc")
        case .netns:
            _ = Self.unshare(0x4000_0000)   // CLONE_NEWNET
        }
    }

    /// unshare(2) (_GNU_SOURCE: not in Swift's Glibc), found as `fork` is.
    static func unshare(_ flags: Int32) -> Int32 {
        typealias Unshare = @convention(c) (Int32) -> Int32
        guard let symbol = dlsym(nil, "unshare") else { return -1 }   // RTLD_DEFAULT
        return unsafeBitCast(symbol, to: Unshare.self)(flags)
    }

    /// fork(), and the child sleeps 30 s with every descriptor inherited.
    /// (fork is unavailable in Swift; a plugin in C calls it directly.)
    private func forkSleeper() {
        typealias Fork = @convention(c) () -> pid_t
        guard let symbol = dlsym(nil, "fork") else { return }   // RTLD_DEFAULT
        if unsafeBitCast(symbol, to: Fork.self)() == 0 {
            sleep(30)
            _exit(0)
        }
    }
}
