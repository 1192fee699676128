import HAVocabulary
#if canImport(Glibc)
import Glibc
#endif

/// How a daemon's commands run: as which user, with which extra
/// environment, in which directory. The host's spawn service runs an argv
/// as the host runs (root, the cluster manager's environment, its working
/// directory); these settings wrap that argv in two standard programs
/// rather than adding a fork-and-setuid path to the host:
///
///     /usr/bin/setpriv --reuid=UID --regid=GID --init-groups --   (util-linux)
///     /usr/bin/env -C DIRECTORY NAME=VALUE… --                    (coreutils ≥ 8.28)
///
/// Both `exec` the next word, so the command keeps the spawned process and
/// its process group (the host's timeout still kills all of it), and both
/// take argv, never a shell string. The user switch comes first, so the
/// directory is entered with the user's rights. With no settings the
/// command runs unchanged (no extra exec on the common path).
///
/// A command run as another user does not inherit fshost's environment
/// (`env -i`): whoever called fshost (a root shell with PGPASSWORD,
/// PGOPTIONS, HOME=/root, a cluster manager's variables) must not reach a
/// process of that user, who can read it in /proc/PID/environ and whose
/// programs obey it. It starts from ``userEnvironment(for:)`` — what a login
/// as that user sets (`runuser -l`/`su -l`: HOME, SHELL, USER, LOGNAME and
/// login.defs' ENV_PATH), plus the node's locale — then ``environment``.
public struct Launch: Sendable, Equatable {
    /// Run as this user (name or numeric uid), with its primary group and
    /// supplementary groups; nil: as the host runs.
    public var user: String?
    /// Added to (or replacing in) the inherited environment; with ``user``,
    /// to ``userEnvironment(for:)`` (nothing else is inherited).
    public var environment: [String: String]
    /// Working directory; nil: the host's.
    public var workingDirectory: String?
    /// Set: the start command does not daemonise; the SDK detaches it and
    /// writes its pidfile (``Detach``). Nil: the command daemonises itself.
    public var detach: Detach?

    /// Settings; with none, commands run unchanged. Nothing is checked here: ``problem``.
    public init(user: String? = nil, environment: [String: String] = [:], workingDirectory: String? = nil,
                detach: Detach? = nil) {
        self.user = user
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.detach = detach
    }

    static let setpriv = "/usr/bin/setpriv"
    static let env = "/usr/bin/env"

    /// A user resolved to its ids (getpwnam / getpwuid).
    public struct Account: Sendable, Equatable {
        /// The user's name (`pw_name`).
        public let name: String
        /// Its uid.
        public let uid: UInt32
        /// Its primary group's gid.
        public let gid: UInt32
        /// Its home directory (`pw_dir`).
        public let home: String
        /// Its login shell (`pw_shell`; `/bin/sh` when empty, as login(1)).
        public let shell: String

        /// Looks `user` up by name, or by number when it is all digits; nil when unknown.
        public init?(_ user: String) {
            guard !user.isEmpty else { return nil }
            let entry = user.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) ? UInt32(user).flatMap { getpwuid($0) }
                : getpwnam(user)
            guard let entry else { return nil }
            name = String(cString: entry.pointee.pw_name)
            uid = entry.pointee.pw_uid
            gid = entry.pointee.pw_gid
            home = String(cString: entry.pointee.pw_dir)
            let shell = entry.pointee.pw_shell.map { String(cString: $0) } ?? ""
            self.shell = shell.isEmpty ? "/bin/sh" : shell
        }
    }

    /// The PATH a command run as another user gets: login.defs' ENV_PATH
    /// default for users (Debian's `/etc/login.defs`, what `runuser -l` sets).
    public static let userPath = "/usr/local/bin:/usr/bin:/bin"

    /// The locale variables kept from fshost's own environment for a
    /// command run as another user (POSIX.1-2017 §8.2, "Internationalization
    /// Variables"): they choose message language and character handling
    /// only, carry no secret, and a server such as PostgreSQL reads them at
    /// start (its messages before its configuration is loaded).
    public static let localeVariables = ["LANG", "LANGUAGE", "LC_ALL", "LC_COLLATE", "LC_CTYPE", "LC_MESSAGES",
                                         "LC_MONETARY", "LC_NUMERIC", "LC_TIME"]

    /// The whole environment a command run as `account` starts with (the
    /// rule of the type's comment, in one place): HOME (its `pw_dir`),
    /// SHELL (its `pw_shell`), USER and LOGNAME (its name), PATH
    /// (``userPath``), and the ``localeVariables`` fshost has, as
    /// `getenv` reads them. Nothing else: no PG*, no FSHOST_*, no OCF_*.
    public static func userEnvironment(for account: Account) -> [String: String] {
        var out = ["HOME": account.home, "USER": account.name, "LOGNAME": account.name, "PATH": userPath,
                   "SHELL": account.shell]
        for name in localeVariables {
            if let value = getenv(name) { out[name] = String(cString: value) }
        }
        return out
    }

    /// Why these settings cannot work, naming the value, or nil: an unknown
    /// user, a working directory that is not an absolute path to a
    /// directory, an environment name that is empty or holds `=`, a value or
    /// name with a NUL, a missing setpriv or env.
    public var problem: String? { problem(for: nil) }

    /// ``problem``, and for `command` too: env takes no `--` after its
    /// assignments, so with an environment or working directory the
    /// command's first word must not contain '='.
    public func problem(for command: [String]?) -> String? {
        if let first = command?.first, first.contains("="), usesEnv {
            return "command '\(LogText.escaped(first))' contains '=': env would read it as a variable"
        }
        if let user {
            guard Account(user) != nil else { return "no such user: '\(LogText.escaped(user))'" }
            if let why = FileCheck.problem(Launch.setpriv, .executable) { return "\(Launch.setpriv) \(why) (util-linux)" }
        }
        if let workingDirectory {
            guard workingDirectory.hasPrefix("/") else { return "working directory must be an absolute path: '\(LogText.escaped(workingDirectory))'" }
            if let why = FileCheck.problem(workingDirectory, .kind(.directory)) { return "working directory \(workingDirectory): \(why)" }
        }
        for (name, value) in environment {
            let ok = !name.isEmpty && !name.contains("=") && !name.utf8.contains(0) && !value.utf8.contains(0)
            if !ok { return "environment variable name must be non-empty, without '=' or NUL: '\(LogText.escaped(name))'" }
        }
        if usesEnv, let why = FileCheck.problem(Launch.env, .executable) {
            return "\(Launch.env) \(why) (coreutils)"
        }
        return nil
    }

    /// The command goes through env(1): a user (its environment is
    /// replaced), an environment or a working directory.
    var usesEnv: Bool { user != nil || workingDirectory != nil || !environment.isEmpty }

    /// `command` wrapped for these settings (see the type's comment). Call
    /// ``problem`` first: an unknown user here gives the command unchanged.
    /// `mark`: a ``LaunchMark`` entry (`NAME=VALUE`) the command must carry;
    /// with ``user`` it is passed to env, which clears what Detach added.
    public func argv(_ command: [String], mark: String? = nil) -> [String] {
        var out: [String] = []
        var assignments = environment
        let account = user.flatMap { Account($0) }
        if let account {
            out += [Launch.setpriv, "--reuid=\(account.uid)", "--regid=\(account.gid)", "--init-groups", "--"]
            assignments = Launch.userEnvironment(for: account).merging(environment) { $1 }
        }
        if account != nil || workingDirectory != nil || !environment.isEmpty {
            out.append(Launch.env)
            if account != nil { out.append("-i") }
            if let workingDirectory { out += ["-C", workingDirectory] }
            out += assignments.keys.sorted().map { "\($0)=\(assignments[$0]!)" }
            if account != nil, let mark { out.append(mark) }
        }
        return out + command
    }
}
