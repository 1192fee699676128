// The nfs resource type: one exported directory, after the FailSafe guide:
// "For NFS, more complicated end-to-end monitoring is required. The test
// might consist of mounting an exported file system, checking access to
// the file system with a stat() system call to the root of the file
// system, and undoing the mount."
//
//   level 1  server   this export's file is in place, the exported
//                     directory is the one start recorded (dev/ino), and
//                     the NFS server process runs (Ganesha's pidfile, the
//                     host's matcher); no file after a stop (or before any
//                     start): stopped, nothing asked of the server; no file
//                     while a start is recorded (removed behind fshost's
//                     back): a failure whether the server still lists it
//                     or not (exclusive: running only while listed)
//   level 2  listed   the server lists the export: NFSv3 MOUNT export list
//                     (rpcbind answering, NFS v3 registered) when v3 is
//                     served, else an NFSv4 lookup of the pseudo path
//                     reaching the exported directory (not a junction)
//   level 3  mount    mount with libnfs, stat the root, read one entry,
//                     unmount, within mount_timeout
//
// Levels 2 and 3 run libnfs in the companion nfs-client.so, loaded only
// there: level 1 never maps libnfs.
//
// backend=ganesha (NFS-Ganesha, userspace): start writes this resource's
// EXPORT block (ExportBlock: generated, never free text) as its own file
// in the `%dir` exports directory, atomically, and makes the server load
// it — SIGHUP to a running server, or starts the server (which reads it).
// stop removes only that file and reloads: every other export stays. The
// server itself is shared by every export: fshost starts it when absent and
// never stops it. Before start places its file, and before every SIGHUP,
// Ganesha's own parser checks every file a reload reads (GaneshaParser):
// one foreign file that does not parse would withdraw exports.
// backend=kernel: `exportfs` (KernelExports.swift).
import FSKit
import NFSClientCall
import TrustedPaths
#if canImport(Glibc)
import Glibc
#endif

struct NFS: ResourceType, ExclusiveCheck, CustomMonitor {
    // MARK: Description

    static let summary = "An NFS export (NFS-Ganesha or the kernel's exportfs): export/unexport one directory; server, export-listed and mount checks"

    enum Access: String, CaseIterable, Sendable { case ro, rw }
    enum Squash: String, CaseIterable, Sendable {
        case root_squash, all_squash, no_root_squash
        var ganeshaName: String { rawValue }
    }
    enum Versions: String, CaseIterable, Sendable {
        case both = "3,4", v3 = "3", v4 = "4"
        var numbers: [Int] { self == .both ? [3, 4] : self == .v3 ? [3] : [4] }
    }
    enum Backend: String, CaseIterable, Sendable { case ganesha, kernel }
    /// Level 3's protocol. `auto` is the lowest served: NFSv3 carries
    /// numeric ids, while an NFSv4 GETATTR makes libnfs map owner strings
    /// through NSS (passwd and group lookups, measured: most of a v4
    /// level 3's time).
    enum MountVersion: String, CaseIterable, Sendable { case auto, v3 = "3", v4 = "4" }

    static let path = Attribute.path("path", "the exported directory (must exist and be a directory; exported by no other export of the server)").required
    static let pseudo = Attribute.path("pseudo",
        "its NFSv4 pseudo path (absolute, normalised, unique among the server's exports, not under another's); default: path")
    static let exportID = Attribute.integer("export_id", in: 1...65535,
        "Ganesha Export_Id (kernel: fsid), unique among the server's exports").required
    static let clients = Attribute.string("clients",
        "comma-separated clients: IPv4/IPv6 address, ADDRESS/PREFIX, *, host name, *.wildcard, @netgroup").required
    static let access = Attribute.choice("access", default: Access.ro, "ro or rw")
    static let squash = Attribute.choice("squash", default: Squash.root_squash, "root_squash, all_squash or no_root_squash")
    static let versions = Attribute.choice("versions", default: Versions.both,
        "NFS versions served and checked: 3,4 / 3 / 4")
    static let mountVersion = Attribute.choice("mount_version", default: MountVersion.auto,
        "level 3's protocol: auto (the lowest served: v3 has no owner-name mapping to pay), 3 or 4 (must be served)").monitorOnly
    static let backend = Attribute.choice("backend", default: Backend.ganesha,
        "ganesha (NFS-Ganesha, %dir exports directory + SIGHUP) or kernel (exportfs; needs /proc/fs/nfsd)")
    static let config = Attribute.path("config", default: "/etc/ganesha/ganesha.conf",
        "Ganesha's configuration file; must `%dir` the exports directory")
    static let exportsDir = Attribute.path("exports_dir", default: "/etc/ganesha/exports.d",
        "the directory the config includes with %dir: this resource writes fshost-nfs-<resource>.conf there (root's, not group/world-writable)")
    static let pidfile = Attribute.path("pidfile", default: "/run/ganesha/ganesha.pid", "Ganesha's pidfile (passed as -p)")
    static let binary = Attribute.path("binary", default: "/usr/bin/ganesha.nfsd", "the Ganesha executable")
    static let library = Attribute.path("library", default: "/usr/lib/ganesha/libganesha_nfsd.so",
        "Ganesha's own library: its config parser checks every file a reload reads before start places a file and before any SIGHUP (NFS-Ganesha 4)")
    static let logFile = Attribute.path("log_file", "Ganesha's log file (passed as -L); default: Ganesha's (syslog)")
    static let exportfs = Attribute.path("exportfs", default: "/usr/sbin/exportfs", "backend=kernel: the exportfs program")
    static let address = Attribute.ipAddress("address", default: "127.0.0.1",
        "numeric address levels 2 and 3 ask (no DNS on the monitor path)")
    static let listTimeout = Attribute.positiveDuration("list_timeout", default: .seconds(2),
        "level 2's limit (export list, rpcbind, v4 lookup together)").monitorOnly
    static let mountTimeout = Attribute.positiveDuration("mount_timeout", default: .seconds(5),
        "level 3's limit (mount + stat + readdir + umount together)").monitorOnly

    static let attributes: [Attribute] = [
        path, pseudo, exportID, clients, access, squash, versions, mountVersion, backend, config, exportsDir, pidfile, binary,
        library, logFile, exportfs, address, listTimeout, mountTimeout,
    ]

    static let levels = [
        MonitorLevel(1, "server", checks: "this export's file is in place (as generated), the exported directory is the one start recorded, and the NFS server process runs (no file after a stop: not running; no file while a start is recorded: a failure, listed or not — withdrawn behind fshost's back)",
                     cost: "one small file read, a stat, a pidfile read and one process's /proc files (no file while a start is recorded, a running server: the level-2 call)"),
        MonitorLevel(2, "listed", checks: "v3 served: rpcbind has NFS v3 and the MOUNT export list names path; v4 only: the pseudo path resolves to the exported directory (its fileid), not a pseudo-fs junction",
                     cost: "loads libnfs (the nfs-client companion); v3: 2 TCP connections (rpcbind: both ports in one round trip; MOUNT: the export list), or one v4 lookup"),
        MonitorLevel(3, "mount", checks: "mount (mount_version), stat the root, read one entry, unmount within mount_timeout",
                     cost: "one call with level 2; v3: 3 TCP connections in all (rpcbind; MOUNT: list, MNT, UMNT; NFS: GETATTR + READDIR), v4-only: 1 (the mount is level 2's lookup)"),
    ]

    static let defaults = ActionDefaults(
        timeout: { action in
            switch action {
            case .exclusive, .validate: .seconds(5)
            case .start: .seconds(30)
            case .stop, .monitor: .seconds(15)
            case .restart: .seconds(45)
            }
        },
        level: 2, retries: 1, retryInterval: .milliseconds(500))

    // MARK: Configuration

    let resource: Resource
    let block: ExportBlock
    let clientsText: String
    /// `clients` parsed once, in init (``checkValues()`` answers its failure).
    let clientsParsed: Result<[String], ExportBlock.ClientError>
    let backend: Backend
    let config: String, binary: String, exportfs: String
    let directory: ExportsDirectory
    let parser: GaneshaParser
    let daemon: Daemon
    let address: IPAddress
    let listTimeout: Duration, mountTimeout: Duration
    let mountVersion: MountVersion

    init(resource: Resource) throws(ConfigurationError) {
        self.resource = resource
        let path = resource[Self.path]
        clientsText = resource[Self.clients]
        clientsParsed = ExportBlock.parseClients(clientsText)
        let clients = (try? clientsParsed.get()) ?? []
        block = ExportBlock(exportID: resource[Self.exportID], path: path, pseudo: resource[Self.pseudo] ?? path,
                            clients: clients, access: resource[Self.access], squash: resource[Self.squash],
                            versions: resource[Self.versions])
        backend = resource[Self.backend]
        config = resource[Self.config]
        binary = resource[Self.binary]
        exportfs = resource[Self.exportfs]
        directory = ExportsDirectory(path: resource[Self.exportsDir], resourceName: resource.name)
        parser = GaneshaParser(library: resource[Self.library])
        address = resource[Self.address]
        listTimeout = resource[Self.listTimeout]
        mountTimeout = resource[Self.mountTimeout]
        mountVersion = resource[Self.mountVersion]
        let pidPath = resource[Self.pidfile]
        daemon = Daemon(resource: resource, pidFile: PidFile(pidPath),
                        // Only the uid fshost runs as (which starts it): another local
                        // user's run of the same root-owned ganesha.nfsd with this config
                        // on its argv (its own -f after ours, other ports) is not the
                        // server, nor is one that took a crashed server's pid (R10D, F1).
                        master: ProcessPattern(name: "ganesha.nfsd", argument: config, owner: getuid()),
                        start: [binary, "-f", config, "-p", pidPath] + (resource[Self.logFile].map { ["-L", $0] } ?? []),
                        stop: StopLadder(.signal("TERM", SIGTERM, share: 8), .signal("KILL", SIGKILL, share: 2, group: true)),
                        pidFileGrace: .seconds(5))
    }

    /// The server is shared by every export: no process is this resource's
    /// own, so the host neither waits for one after start nor ends one
    /// after stop (stop withdraws one export; the others stay served).
    var processes: [ProcessPattern] { [] }

    // MARK: Validation

    /// What the schema cannot express: the path and pseudo path grammar
    /// (ExportBlock: nothing that could break the generated block), the
    /// client list. HA_INVAL_ARGS naming the attribute; at every action
    /// that reads them, before anything runs.
    func checkValues() -> Outcome {
        if let why = ExportBlock.pathProblem(block.path) { return .invalid("attribute 'path' \(why): '\(ExportBlock.escaped(block.path))'") }
        if let why = ExportBlock.pathProblem(block.pseudo) {
            return .invalid("attribute 'pseudo' \(why): '\(ExportBlock.escaped(block.pseudo))'")
        }
        if block.pseudo == "/" { return .invalid("attribute 'pseudo' must not be '/': the pseudo root is the server's") }
        // NFSv4 LOOKUPs one component at a time: a longer one is
        // NFS4ERR_NAMETOOLONG (NAME_MAX), so a v4 client could never reach it.
        if let long = block.pseudo.split(separator: "/").first(where: { $0.utf8.count > 255 }) {
            return .invalid("attribute 'pseudo' has a component of \(long.utf8.count) bytes (at most 255, NAME_MAX: NFSv4 looks up one component at a time)")
        }
        if case .failure(let e) = clientsParsed { return .invalid("attribute 'clients': \(e.why)") }
        // Ganesha's MOUNT export list (and a mount) answers a client only
        // the exports it serves: start's readiness and levels 2-3 ask from
        // `address`, so they could never see an export that leaves it out.
        if backend == .ganesha, !ExportBlock.covers(block.clients, address) {
            return .invalid("attribute 'address' \(address) is not among 'clients' (\(ExportBlock.escaped(clientsText))): the server lists an export only to its clients, so start and levels 2-3, which ask from \(address), could never see it; add \(address) (or a network holding it) to clients")
        }
        if mountVersion != .auto, !block.versions.numbers.contains(level3Version) {
            return .invalid("attribute 'mount_version' \(mountVersion.rawValue) is not served (versions=\(block.versions.rawValue))")
        }
        return .success
    }

    /// Before start and on `validate`: the values, the exported directory,
    /// the server's files, and that no other export of the server uses this
    /// export id or pseudo path. Nothing is written.
    func validate() -> Outcome {
        let values = checkValues()
        guard values.isSuccess else { return values }
        if let why = FileCheck.problem(block.path, .kind(.directory)) {
            return .badConfiguration("attribute 'path': \(block.path): \(why)")
        }
        if let link = Self.symlinkComponent(of: block.path) {
            return .badConfiguration("attribute 'path': \(link) is a symbolic link: give the directory's real path (Ganesha resolves it, and another export could name the same directory under another path)")
        }
        if backend == .kernel { return kernelValidate() }
        if let why = FileCheck.problem(binary, .executable) { return .badConfiguration("attribute 'binary': \(binary): \(why)") }
        // Root runs it, and the server appends to its log as root: neither
        // may be chosen or written by another user (R10E, finding 3).
        if let why = TrustedPath.executableProblem(binary) { return .badConfiguration("attribute 'binary': \(binary): \(why)") }
        if let log = resource[Self.logFile] {
            if let why = FileCheck.creatableFileProblem(log) { return .badConfiguration("attribute 'log_file': \(log): \(why)") }
            if let why = TrustedFile.problem(log, role: "log file", mayBeMissing: true) ?? PathTrust().checkLinks(log)?.description {
                return .badConfiguration("attribute 'log_file': \(why): the server, run as root, appends to it")
            }
        }
        if let why = directory.problem { return .badConfiguration("attribute 'exports_dir': \(directory.path): \(why)") }
        let set: ReloadSet
        switch ReloadSet.read(config: config) {
        case .success(let s): set = s
        case .failure(let why): return .badConfiguration(why.text)
        }
        let scan = GaneshaConfigScan(set.files[0].bytes)
        let wanted = directory.path.hasSuffix("/") ? String(directory.path.dropLast()) : directory.path
        if !scan.directories.contains(where: { $0 == wanted || $0 == wanted + "/" }) {
            return .badConfiguration("attribute 'config': \(config) has no `%dir \(wanted)`: Ganesha would never read this export")
        }
        if let why = FileCheck.creatableFileProblem(daemon.pidFile.path) {
            return .badConfiguration("attribute 'pidfile': \(daemon.pidFile.path): \(why)")
        }
        if let why = daemon.pidFile.placeProblem() { return .badConfiguration("attribute 'pidfile': \(daemon.pidFile.path): \(why)") }
        let free = conflicts(in: set)
        guard free.isSuccess else { return free }
        return reloadSetProblem(set, ownBlock: block.text) ?? .success
    }

    /// Why the files a reload reads (the config, its includes, every file
    /// of its `%dir`s: ``ReloadSet``) are not all trusted, or would not
    /// load as they read now (GaneshaParser, with `ownBlock` parsed alone
    /// when given); nil when fit. `set`: the walk already read, else read
    /// here. Asked before start places its file, and before every SIGHUP
    /// and server start (``reload(_:)``).
    func reloadSetProblem(_ set: ReloadSet? = nil, ownBlock: String? = nil) -> Outcome? {
        let files: ReloadSet
        if let set { files = set } else {
            switch ReloadSet.read(config: config) {
            case .success(let s): files = s
            case .failure(let why): return .badConfiguration(why.text)
            }
        }
        return parser.problem(config: config, set: files, ownFile: directory.filePath, ownBlock: ownBlock,
                              within: min(.seconds(10), resource.timeLeft / 2))
    }

    /// SIGHUP to the server, only when the set it would read is trusted
    /// and parses; nil when sent, else why not.
    func reload(_ server: ProcessIdentity) -> Outcome? {
        if let why = reloadSetProblem() { return why }
        resource.processes.signal(server, SIGHUP)
        return nil
    }

    /// The first prefix of an absolute path that is a symbolic link, or nil.
    static func symlinkComponent(of path: String) -> String? {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            var st = stat()
            if lstat(prefix, &st) == 0, st.st_mode & S_IFMT == S_IFLNK { return prefix }
        }
        return nil
    }

    /// Another export of the server (any file a reload reads: the config,
    /// its includes, the files of its `%dir`s, this resource's own file
    /// aside) with this export id, pseudo path or directory.
    func conflicts(in set: ReloadSet) -> Outcome {
        for (file, scan) in set.files.filter({ $0.path != directory.filePath }).map({ ($0.path, GaneshaConfigScan($0.bytes)) }) {
            if scan.exportIDs.contains(block.exportID) {
                return .badConfiguration("attribute 'export_id': \(block.exportID) is already used by \(file)")
            }
            // Ganesha allows one directory under two pseudo paths, but the
            // MOUNT export list names directories: level 2 and stop could
            // not tell this export from the other. Checked before the pseudo
            // path, which defaults to the path: the path is the cause.
            if scan.paths.contains(block.path) {
                return .badConfiguration("attribute 'path': \(block.path) is already exported by \(file)")
            }
            if scan.pseudoPaths.contains(block.pseudo) {
                return .badConfiguration("attribute 'pseudo': \(block.pseudo) is already used by \(file)")
            }
            // Under another export's pseudo path, Ganesha mounts this one on
            // a directory of that export's filesystem, which must exist
            // (else NFS4ERR_NOENT after the whole start timeout), and 4.3
            // segfaults when the other is withdrawn by a reload (measured).
            // The pseudo root "/" (a main config's export 0) holds every one.
            if let above = scan.pseudoPaths.first(where: { $0 != "/" && block.pseudo.hasPrefix($0 + "/") }) {
                return .badConfiguration("attribute 'pseudo': \(block.pseudo) is under \(above), the pseudo path of \(file); nested exports are not supported")
            }
            // Above another's (measured, 4.3: /p started while /p/nine is
            // served makes /p/nine NFS4ERR_NOENT over NFSv4 until /p goes).
            if let below = scan.pseudoPaths.first(where: { $0.hasPrefix(block.pseudo + "/") }) {
                return .badConfiguration("attribute 'pseudo': \(block.pseudo) holds \(below), the pseudo path of \(file); nested exports are not supported")
            }
        }
        return .success
    }

    // MARK: Start and stop

    func start() -> Outcome {
        // The host ran validate just before (ActionJob.start).
        if backend == .kernel { return kernelStart() }
        // Check and place under the directory's lock (two starts must not
        // both find an id free); the wait for the server is outside it.
        let text = block.text
        var changed = false
        do {
            guard let lock = directory.lock(resource, within: resource.budget(.seconds(5))) else {
                return .failed("exports directory \(directory.path): its lock (in fshost's run directory) was not taken within 5 s (see the log)")
            }
            defer { close(lock) }
            let set: ReloadSet
            switch ReloadSet.read(config: config) {
            case .success(let s): set = s
            case .failure(let why): return .badConfiguration(why.text)
            }
            let free = conflicts(in: set)
            guard free.isSuccess else { return free }
            if let why = withdrawReplacedDirectory() { return why }
            // Under the lock, before anything is placed: a file another
            // user can write, or a foreign file that does not parse, would
            // be loaded by the reload below, or make it withdraw exports
            // (ReloadSet, GaneshaParser); so would this resource's block
            // if fshost's grammar let through what Ganesha cannot read.
            // The server's start reads the same set.
            if let why = reloadSetProblem(set, ownBlock: text) { return why }
            changed = directory.current() != .text(text)
            if changed {
                if let why = directory.place(text) { return .failed(why) }
                // The set with it, as the SIGHUP below (or the server's
                // start) will read it; else taken back, nothing sent.
                if let why = parser.problem(config: config, set: nil, ownFile: directory.filePath, ownBlock: nil,
                                            within: min(.seconds(10), resource.timeLeft / 2)) {
                    _ = directory.remove()
                    return Outcome(why.status, (why.reason ?? "") + "; the export file was removed again")
                }
            }
        }
        let outcome = serve(reload: changed)
        if outcome.isSuccess {
            var st = stat()
            if stat(block.path, &st) == 0 { resource.state["export_dir"] = identity(st) }
        }
        if !outcome.isSuccess && changed {
            // Not served: take the file back, so a later reload never carries it.
            let lock = directory.lock(resource, within: resource.budget(.seconds(1)))
            defer { if let lock { close(lock) } }
            if directory.current() == .text(text), directory.remove() == nil, case .running(let id) = daemon.status() {
                _ = reload(id)
            }
            return Outcome(outcome.status, (outcome.reason ?? "start failed") + "; the export file was removed again")
        }
        return outcome
    }

    /// The exported directory replaced since the recorded start (moved
    /// aside and made anew): the server serves the directory it resolved
    /// when it loaded the export, and a reload of an unchanged file does
    /// not resolve it again — start answered success while clients got
    /// the old directory (R10D, finding 4). So the export is withdrawn
    /// first (file removed, reload, until not listed; within half the time
    /// left), and start then places it anew. Under the exports directory's
    /// lock, after the reload set was checked. nil when nothing was to be
    /// done or it was done, else why not.
    func withdrawReplacedDirectory() -> Outcome? {
        var st = stat()
        guard directory.current() != .absent, let recorded = resource.state["export_dir"], stat(block.path, &st) == 0,
              !Self.same(recorded, identity(st)), case .running(let id) = daemon.status(),
              // A server stopped by a signal is replaced by serve(): the new one resolves the path anew.
              !isStoppedBySignal(id) else { return nil }
        resource.log.warning("exported directory \(block.path) was replaced since the last start (device:inode:file handle \(recorded), now \(identity(st))): withdrawing its export, then exporting it anew")
        if let why = directory.remove() { return .failed(why) }
        resource.processes.signal(id, SIGHUP)
        let withdrawn = waitUntilWithdrawn(until: ProbeDeadline(after: resource.timeLeft / 2))
        guard withdrawn.isSuccess else {
            return Outcome(withdrawn.status, "exported directory \(block.path) was replaced since the last start, and its old export is not withdrawn: " + (withdrawn.reason ?? ""))
        }
        return nil
    }

    /// Makes the server load the placed file: SIGHUP to a running server
    /// (when the file changed), else start it (it reads every file of the
    /// exports directory as it starts); then waits until level 2 passes.
    func serve(reload: Bool) -> Outcome {
        if case .running(let id) = daemon.status(), !isStoppedBySignal(id) {
            // An unchanged file the server does not list (withdrawn by a
            // reload that missed it) needs the reload now, not half a
            // timeout later.
            if reload || !probeListed().isSuccess { resource.processes.signal(id, SIGHUP) }
            return waitUntilListed(server: id, mayRestart: true)
        }
        switch startServer() {
        case .running(let id): return waitUntilListed(server: id, mayRestart: false)
        case .failed(let why): return why
        }
    }

    /// Starts the server unless it runs, under the exports directory's
    /// lock: the starts of several exports after a crash (a cluster
    /// manager recovers them at once) raced, and one found the server just
    /// launched by another, its pidfile not yet written — "runs, but its
    /// pidfile is missing" (R10D, finding 3). Under the lock, the status is
    /// asked again: a start that waited finds the server running.
    func startServer() -> ServerStart {
        guard let lock = directory.lock(resource, within: resource.budget(.seconds(10))) else {
            return .failed(.failed("exports directory \(directory.path): its lock (in fshost's run directory) was not taken within 10 s (see the log)"))
        }
        defer { close(lock) }
        if case .running(let id) = daemon.status() { return isStoppedBySignal(id) ? replaceStoppedServer(id) : .running(id) }
        return launchServer()
    }

    /// Whether the server is stopped by a signal (SIGSTOP: state `T`),
    /// asked twice 100 ms apart: it serves nothing and obeys no reload
    /// until SIGCONT, so a start or stop waiting for it would end at its
    /// timeout (R10D, finding 2). A slow server is not stopped.
    func isStoppedBySignal(_ id: ProcessIdentity) -> Bool {
        guard resource.processes.isStopped(id) == true else { return false }
        usleep(100_000)
        return resource.processes.isStopped(id) == true
    }

    /// Ends a server stopped by a signal and starts it again, so that it
    /// reads the exports directory as it is now: every export of it was
    /// unreachable anyway, and comes back served. The caller holds the
    /// exports directory's lock.
    func replaceStoppedServer(_ id: ProcessIdentity) -> ServerStart {
        if let why = endStoppedServer(id, then: "starting it again") { return .failed(why) }
        return launchServer()
    }

    /// Ends a server stopped by a signal: SIGKILL, which a stopped process
    /// obeys at once, then the SDK's stop clears its pidfile. nil when
    /// ended, else why not.
    func endStoppedServer(_ id: ProcessIdentity, then next: String) -> Outcome? {
        resource.log.warning("NFS server (pid \(id.pid)) is stopped by a signal: it serves nothing and obeys no reload; ending it, then \(next)")
        _ = resource.processes.signal(id, SIGKILL)
        let gone = ProbeDeadline(after: min(.seconds(2), resource.timeLeft / 4))
        while resource.processes.alive(pid: id.pid, startTime: id.startTime) && !gone.hasPassed { usleep(10_000) }
        let stopped = daemon.stop()
        return stopped.isSuccess ? nil
            : Outcome(stopped.status, "NFS server (pid \(id.pid)), stopped by a signal, could not be ended: " + (stopped.reason ?? ""))
    }

    /// Starts the server (it reads every file of the exports directory as
    /// it starts) and waits until port 2049 accepts: `.running` then, else
    /// why not. The caller holds the exports directory's lock.
    func launchServer() -> ServerStart {
        let started = daemon.start { TCPProbe.connect(to: address, port: 2049, timeout: resource.budget(.milliseconds(500))) == .connected
            ? .success : .failed("port 2049 on \(address) does not accept yet") }
        guard started.isSuccess else { return .failed(Outcome(started.status, "NFS server: " + (started.reason ?? "start failed"))) }
        guard case .running(let id) = daemon.status() else { return .failed(.failed("NFS server started, then ended (see its log)")) }
        return .running(id)
    }

    enum ServerStart { case running(ProcessIdentity), failed(Outcome) }

    /// How long rpcbind may lack the server's NFSv3 registrations (or not
    /// answer) before start acts on it: a server just started (by another
    /// export's start) registers a moment after its port accepts.
    static let registrationGrace: Duration = .seconds(2)

    /// Polls level 2 until it passes; one more SIGHUP half way (a reload
    /// that raced another resource's write). NFSv3 served and rpcbind
    /// without the server's registrations for ``registrationGrace``: the
    /// server is restarted (`mayRestart`, once: ``restartServer(_:)``);
    /// rpcbind not answering that long fails at once, saying so.
    func waitUntilListed(server: ProcessIdentity, mayRestart: Bool) -> Outcome {
        var last = Outcome.failed("not listed yet")
        var nudged = false
        var unregistered: ProbeDeadline?
        let half = ProbeDeadline(after: resource.timeLeft / 2)
        while resource.timeLeft > .milliseconds(300) {
            // A server that ended (it could not bind a port another process
            // holds, a fatal error in its config) lists nothing, ever: said
            // at once, not at the start timeout (R10E, finding 4).
            guard case .running(let now) = daemon.status(), now.pid == server.pid else {
                return .failed("the NFS server (pid \(server.pid)) ended while start waited for it to list the export (see its log)")
            }
            let answer = listed()
            if answer == .ok { return .success }
            last = outcome(of: answer, limit: "list_timeout", listTimeout)
            if case .notRegistered(let why, let answered) = answer {
                let since = unregistered ?? ProbeDeadline(after: Self.registrationGrace)
                unregistered = since
                if since.hasPassed {
                    guard answered else {
                        return .failed("\(why): the NFS server registers its NFSv3 services with rpcbind only when it starts: start rpcbind, then start this export again (fshost then restarts the server)")
                    }
                    guard mayRestart else {
                        return .failed("the NFS server runs, but rpcbind lacks its NFSv3 registrations \(Self.registrationGrace.milliseconds / 1000) s after its start (\(why))")
                    }
                    return restartServer(why)
                }
            } else {
                unregistered = nil
            }
            if !nudged && half.hasPassed {
                if let why = reload(server) { return why }
                nudged = true
            }
            usleep(20_000)
        }
        return .failed("export file placed, but the server does not list it within the start timeout: " + (last.reason ?? ""))
    }

    /// Ganesha registers its NFSv3 services with rpcbind only when it
    /// starts (a SIGHUP reloads exports, nothing else): after rpcbind lost
    /// them — killed, or restarted without its warm-start file (`rpcbind
    /// -w` keeps them across a clean restart) — no NFSv3 client finds the
    /// server's MOUNT service, for any export, until the server restarts.
    /// So start restarts it: every export of the server is briefly
    /// unavailable, and NFSv4 clients then reclaim their state in its grace
    /// period. Under the exports directory's lock, asked once more there
    /// (another export's start may have restarted it already).
    func restartServer(_ why: String) -> Outcome {
        let started: ServerStart
        do {
            guard let lock = directory.lock(resource, within: resource.budget(.seconds(5))) else {
                return .failed("exports directory \(directory.path): its lock (in fshost's run directory) was not taken within 5 s (see the log)")
            }
            defer { close(lock) }
            if case .running(let id) = daemon.status() {
                guard case .notRegistered(_, rpcbindAnswered: true) = listed() else { return waitUntilListed(server: id, mayRestart: false) }
            }
            resource.log.warning("rpcbind lacks the NFS server's NFSv3 registrations (\(why)): restarting the server, which registers only when it starts; its exports are unavailable meanwhile")
            let stopped = daemon.stop()
            guard stopped.isSuccess else {
                return Outcome(stopped.status, "rpcbind lacks the NFS server's NFSv3 registrations (\(why)), and the server could not be stopped to register again: " + (stopped.reason ?? ""))
            }
            started = launchServer()
        }
        switch started {
        case .running(let id): return waitUntilListed(server: id, mayRestart: false)
        case .failed(let why): return why
        }
    }

    /// Withdrawn means the server no longer lists the export, not merely
    /// that the file is gone: a file removed behind fshost's back (no
    /// reload) is still served, so stop reloads whenever the server still
    /// lists it, and waits until it does not (``stillListed()``). Start's
    /// record (the state key `export_dir`) is cleared only then: a later
    /// stop, or a level 1, that finds no file and no record asks the
    /// server nothing — a stop repeated while rpcbind is down succeeds.
    func stop() -> Outcome {
        if backend == .kernel { return kernelStop() }
        let lock = directory.lock(resource, within: resource.budget(.seconds(5)))
        defer { if let lock { close(lock) } }
        let hadFile = directory.current() != .absent
        guard case .running(let id) = daemon.status() else {
            // No server: nothing is reloaded; the file goes.
            if let why = directory.remove() { return .failed(why) }
            resource.state["export_dir"] = nil
            return .success
        }
        if isStoppedBySignal(id) { return stopWithStoppedServer(id) }
        if !hadFile {
            guard resource.state["export_dir"] != nil else { return .success }
            if case .notListed = stillListed() { resource.state["export_dir"] = nil; return .success }
        }
        // The reload below reads every file: refused before anything
        // changes when one is not trusted or does not parse (ReloadSet,
        // GaneshaParser) — unless what does not parse is this resource's
        // own file (Ganesha's message names it, FILE:LINE; hand-edited, or
        // an older fshost's), which this stop removes anyway: removed, the
        // set is asked again, and only a set that then parses is reloaded.
        if let why = reloadSetProblem() {
            guard hadFile, why.status == .noConfigInfo, why.reason?.containsText(directory.filePath + ":") == true else { return why }
            if let failed = directory.remove() { return .failed(failed) }
            if let still = reloadSetProblem() {
                return Outcome(still.status, (still.reason ?? "") + " (this resource's own file, which did not parse either, is removed; no reload sent)")
            }
        }
        if let why = directory.remove() { return .failed(why) }
        resource.processes.signal(id, SIGHUP)
        return waitUntilWithdrawn(until: ProbeDeadline(after: resource.timeLeft))
    }

    /// Stop while the server is stopped by a signal: it would never obey
    /// the reload, and a stop that failed at its timeout would be fenced
    /// for a fault that is not this export's (R10D, finding 2). The file
    /// goes and the server is ended (``endStoppedServer(_:then:)``): it
    /// served none of its exports, and a stop leaves no process started
    /// (the host ends what an action other than start leaves running), so
    /// the others' monitors now fail at level 1 ("master process gone")
    /// instead of at their timeouts, and their start starts it again.
    func stopWithStoppedServer(_ id: ProcessIdentity) -> Outcome {
        if let why = directory.remove() { return .failed(why) }
        if let why = endStoppedServer(id, then: "leaving its other exports to their start") { return why }
        resource.state["export_dir"] = nil
        return .success
    }

    /// After this export's file was removed and the reload sent: polls
    /// until the server no longer lists it (level 2's check, through
    /// ``stillListed()``), then clears start's record; `deadline` cut
    /// 300 ms before the action's end.
    func waitUntilWithdrawn(until deadline: ProbeDeadline) -> Outcome {
        var last = ""
        while resource.timeLeft > .milliseconds(300) && !deadline.hasPassed {
            switch stillListed() {
            case .notListed:
                resource.state["export_dir"] = nil
                return .success
            case .notRegistered(let why, _):
                // NFSv3 only (a v4 export was asked over NFSv4): the file
                // is gone and the running server was sent its reload; what
                // cannot be asked is rpcbind, through which no NFSv3
                // client finds this export's MOUNT service either. A stop
                // that failed here would be fenced for rpcbind's fault.
                resource.log.warning("export file removed and the server reloaded; whether it still lists \(block.path) cannot be asked (\(why)), and no NFSv3 client finds it through rpcbind either: stopped")
                resource.state["export_dir"] = nil
                return .success
            case .ok: last = "the server still lists it"
            case .failed(let why), .timedOut(let why): last = "whether the server still lists it is unknown: \(why)"
            case .listing(let inner): last = "\(inner)"  // only with thenMount, which stillListed() never asks
            }
            usleep(20_000)
        }
        return .failed("export file removed and the server reloaded, but \(last)")
    }

    // MARK: Exclusive and monitoring

    /// Running here when this export's file is in place (a server started
    /// later would serve it), or when the file is gone but the server
    /// still lists the export (removed without a reload).
    func exclusive() -> Outcome {
        if backend == .kernel { return kernelExclusive() }
        switch directory.current() {
        case .absent:
            let outcome = withoutFile()
            return outcome.status == .notRunning ? outcome : outcome.isSuccess ? .running(outcome.reason ?? "") : outcome
        case .text: return .running("export file \(directory.filePath) is in place")
        case .unreadable(let why): return .failed("export file \(directory.filePath): \(why)")
        }
    }

    func probe(level: UInt32) -> Outcome {
        let values = checkValues()
        guard values.isSuccess else { return values }
        switch level {
        case 1: return backend == .kernel ? kernelProbeServer() : probeServer()
        case 2: return probeListed()
        case 3: return probeMount()
        default: return .invalid("no monitoring level \(level)")
        }
    }

    /// Level 1: the exports directory trusted, the file as generated, and
    /// the server's process.
    func probeServer() -> Outcome {
        // Start's and stop's rule (ExportsDirectory.open): a directory
        // another user can write lets them add, change or remove exports
        // of this server; a monitor must not pass what start refuses.
        if let why = directory.problem { return .failed("attribute 'exports_dir': \(directory.path): \(why)") }
        switch directory.current() {
        case .absent:
            let outcome = withoutFile()
            if outcome.isSuccess { return .failed(outcome.reason ?? "") }
            // Not served, and a start is recorded with no stop since: the
            // export was withdrawn behind fshost's back (file removed and the
            // server reloaded) or a start failed after one that passed. Not
            // "cleanly stopped" (R10D, finding 7). Exclusive still answers
            // "not running": nothing of it is served here.
            if outcome.status == .notRunning, resource.state["export_dir"] != nil {
                return .failed((outcome.reason ?? "") + ", and the server does not list it, but no stop ran since the last start (withdrawn behind fshost's back?)")
            }
            return outcome
        case .unreadable(let why): return .failed("export file \(directory.filePath): \(why)")
        case .text(let text) where text != block.text:
            return .failed("export file \(directory.filePath) differs from what the attributes generate (edited behind fshost's back, or attributes changed since start)")
        case .text: break
        }
        if let why = exportedDirectoryProblem() { return .failed(why) }
        let outcome = daemon.probe()
        return outcome.isSuccess ? .success : .failed("NFS server: " + (outcome.reason ?? "not running"))
    }

    /// No export file: cleanly stopped only when the server does not list
    /// the export either. A file removed behind fshost's back (no reload)
    /// leaves it served, and "not running" would let the cluster start it
    /// on a second node. `.success` (with why) means "still served";
    /// levels answer that as a failure, exclusive as running. Loads libnfs
    /// (even at level 1) only when the file is absent and the server runs.
    func withoutFile() -> Outcome {
        let absent = "not exported: no export file \(directory.filePath)"
        guard case .running = daemon.status() else { return .notRunning(absent) }
        // No start recorded: stopped by fshost (stop clears the record only
        // once the server no longer lists the export) or never started
        // here. Nothing to ask: level 1 stays a local check.
        guard resource.state["export_dir"] != nil else { return .notRunning(absent) }
        switch stillListed() {
        case .notListed: return .notRunning(absent)
        case .ok:
            return Outcome(.success, "no export file \(directory.filePath), but the server still lists \(block.path) (removed without a reload): stop withdraws it")
        case .failed(let why), .timedOut(let why), .notRegistered(let why, _):
            return .failed("no export file \(directory.filePath), and whether the server still lists \(block.path) is unknown: \(why)")
        case .listing(let inner):  // only with thenMount, which stillListed() never asks
            return .failed("no export file \(directory.filePath), and whether the server still lists \(block.path) is unknown: \(inner)")
        }
    }

    /// The exported directory as recorded at start (`dev:ino:handle` in the state
    /// key `export_dir`): the server's answer alone is stale — Ganesha
    /// serves a removed directory from its cache for about 50 s (measured:
    /// level 3 passed, nfs-ls listed the deleted entries). nil when fit.
    func exportedDirectoryProblem() -> String? {
        var st = stat()
        guard stat(block.path, &st) == 0 else {
            return "exported directory \(block.path): \(String(cString: strerror(errno))) (the server may still serve it from its cache)"
        }
        guard st.st_mode & S_IFMT == S_IFDIR else { return "exported directory \(block.path) is no longer a directory" }
        if let recorded = resource.state["export_dir"], !Self.same(recorded, identity(st)) {
            return "exported directory \(block.path) was replaced since start (device:inode:file handle \(recorded), now \(identity(st)))"
        }
        return nil
    }

    /// `dev:ino:handle` of the exported directory (``KernelFileHandle``:
    /// the inode's generation too): what ``exportedDirectoryProblem()`` compares.
    func identity(_ st: stat) -> String {
        "\(st.st_dev):\(st.st_ino)" + (KernelFileHandle.of(block.path).map { ":" + $0 } ?? "")
    }

    /// Whether two identities name one directory: device, inode and, when
    /// both have it, the file handle (a record of an older fshost has none).
    static func same(_ recorded: String, _ now: String) -> Bool {
        let a = recorded.split(separator: ":"), b = now.split(separator: ":")
        guard a.count >= 2, b.count >= 2, a[0] == b[0], a[1] == b[1] else { return false }
        return a.count < 3 || b.count < 3 || a[2] == b[2]
    }

    /// Levels 1 to `level`, the first failure answering. At level 3, levels
    /// 2 and 3 are one companion call: the answers are level by level the
    /// same as ``probe(level:)``'s, but what level 2 asked (rpcbind's ports,
    /// the MOUNT connection, the v4 lookup of the pseudo path) is not asked
    /// again — three connections instead of nine for NFSv3.
    func monitor(upTo level: UInt32) -> Outcome {
        guard level >= 1 else { return .success }
        let first = probe(level: 1)
        guard first.isSuccess, level >= 2 else { return first }
        return level == 2 ? probe(level: 2) : probeListedAndMount()
    }

    /// Level 2: the server lists the export — through NFSv3 (the MOUNT
    /// export list, and rpcbind with NFS v3 registered) when v3 is served,
    /// else by an NFSv4 lookup of the pseudo path. One protocol: level 3
    /// runs level 2 first, and `mount_version=4` covers v4 there.
    func probeListed() -> Outcome {
        let cut = checkBudget(listTimeout) < listTimeout
        return outcome(of: listed(), limit: "list_timeout", listTimeout, cut: cut)
    }

    /// A companion check's limit: `limit`, but ending a margin before the
    /// action's deadline (200 ms, a fifth of the time left when under 1 s),
    /// so that a check cut by the action's time still returns its own
    /// reason as HA_CMD_FAILED before the host's watchdog answers
    /// HA_TIMEDOUT for it (the companion call and the answer's way back
    /// need a few ms; the margin leaves room on a loaded machine).
    func checkBudget(_ limit: Duration) -> Duration {
        let left = resource.timeLeft
        return max(.milliseconds(1), min(limit, left - min(.milliseconds(200), left / 5)))
    }

    /// The name NFSv3's MOUNT protocol knows this export by: its path, or
    /// its pseudo path when the server's config sets NFS_CORE_PARAM's
    /// Mount_Path_Pseudo (Ganesha 4.3: the export list names `Pseudo`
    /// (mnt_Export.c) and MNT looks the argument up among pseudo paths
    /// (mnt_Mnt.c)). Read at each level-2/3 check and each stop, from
    /// the config the resource names (and its `%include` files); nil,
    /// with why, when that config cannot be read.
    func v3Name() -> Result<String, ExportsDirectory.Refusal> {
        switch GaneshaConfigScan.mountPathPseudo(config: config) {
        case .success(let pseudo): return .success(pseudo ? block.pseudo : block.path)
        case .failure(let why): return .failure(why)
        }
    }

    /// `body(v3Name)`, or `failed(why)` when the config cannot be read;
    /// the config is read only when Ganesha serves v3 (a v4-only export
    /// asks for its pseudo path alone; the kernel's mountd names paths).
    func withV3Name<T>(_ failed: (String) -> T, _ body: (String) -> T) -> T {
        guard backend == .ganesha, block.versions.numbers.contains(3) else { return body(block.path) }
        switch v3Name() {
        case .success(let name): return body(name)
        case .failure(let why): return failed(why.text)
        }
    }

    /// Level 2's question: the lowest version served; v3 asks for `v3Name`.
    func listedCheck(v3Name: String) -> NFSClientCall.Check {
        block.versions.numbers.first == 3 ? .listedV3(path: v3Name) : listedV4Check
    }

    /// The NFSv4 lookup of the pseudo path: the export's root is this
    /// directory, not a pseudo-fs junction at the same path.
    var listedV4Check: NFSClientCall.Check {
        var st = stat()
        return .listedV4(pseudo: block.pseudo, fileid: stat(block.path, &st) == 0 ? UInt64(st.st_ino) : nil)
    }

    /// Whether the server still lists the export, as stop and a missing
    /// file ask it: level 2's question, except that an NFSv3 listing
    /// rpcbind cannot give (killed, or restarted and without the server's
    /// registrations) is asked over NFSv4 when the export serves v4 — the
    /// server answers that itself, on port 2049, with no rpcbind. Over
    /// NFSv4 the node sought is the directory start exported (the inode
    /// recorded in `export_dir`; none recorded: whatever the pseudo path
    /// reaches), not the one at the path now: a directory replaced since
    /// would otherwise read as "withdrawn" before the reload ran.
    func stillListed() -> NFSClientCall.Response {
        if block.versions.numbers.first == 3 {
            let answer = listed()
            guard case .notRegistered = answer, block.versions.numbers.contains(4) else { return answer }
        }
        guard let call = resource.companion(NFSClientCall.self) else {
            return .failed("asking the server whether it still lists the export needs the companion nfs-client.so beside the plugin (libnfs); it could not be loaded (see the log)")
        }
        let recorded = resource.state["export_dir"].flatMap { text in text.split(separator: ":").dropFirst().first.flatMap { UInt64($0) } }
        return call(NFSClientCall.Request(server: address.description, check: .listedV4(pseudo: block.pseudo, fileid: recorded),
                                          timeout: checkBudget(listTimeout)))
    }

    /// The level-2 answer.
    func listed() -> NFSClientCall.Response {
        guard let call = resource.companion(NFSClientCall.self) else {
            return .failed("levels 2 and 3 need the companion nfs-client.so beside the plugin (libnfs); it could not be loaded (see the log)")
        }
        return withV3Name(NFSClientCall.Response.failed) { name in
            call(NFSClientCall.Request(server: address.description, check: listedCheck(v3Name: name), timeout: checkBudget(listTimeout)))
        }
    }

    /// A companion answer as a level's outcome; a timeout names what set
    /// its limit: the attribute, or (`cut`) the action's time left, which
    /// was shorter (`--timeout`, `monitor_timeout`; ``checkBudget(_:)``).
    func outcome(of answer: NFSClientCall.Response, limit name: String, _ limit: Duration, cut: Bool = false) -> Outcome {
        switch answer {
        case .ok: return .success
        case .notListed(let why), .failed(let why): return .failed(why)
        case .notRegistered(let why, let answered):
            // The operator's next step, in the line: only a restart makes
            // Ganesha register again (start does it).
            return .failed(answered ? why + " (rpcbind restarted since the NFS server started? start restarts the server to register it again)" : why)
        case .timedOut(let why):
            return .failed(why + (cut ? " (the action's time left, shorter than \(name) \(limit.milliseconds) ms)" : " (\(name) \(limit.milliseconds) ms)"))
        case .listing(let inner): return outcome(of: inner, limit: "list_timeout", listTimeout, cut: cut)
        }
    }

    /// Level 3's NFS version (see ``MountVersion``).
    var level3Version: Int {
        switch mountVersion {
        case .auto: return block.versions.numbers.first!
        case .v3: return 3
        case .v4: return 4
        }
    }

    /// Level 3's export argument: v4 the pseudo path, v3 `v3Name`.
    func level3Path(v3Name: String) -> String { level3Version == 4 ? block.pseudo : v3Name }

    /// Level 3 alone: mount, stat, readdir, umount with ``level3Version``.
    func probeMount() -> Outcome {
        guard let call = resource.companion(NFSClientCall.self) else {
            return .failed("level 3 needs the companion nfs-client.so beside the plugin (libnfs); it could not be loaded (see the log)")
        }
        return withV3Name(Outcome.failed) { name in
            let answer = call(NFSClientCall.Request(server: address.description,
                                                    check: .endToEnd(path: level3Path(v3Name: name), version: level3Version),
                                                    timeout: checkBudget(mountTimeout)))
            return outcome(of: answer, limit: "mount_timeout", mountTimeout, cut: checkBudget(mountTimeout) < mountTimeout)
        }
    }

    /// Levels 2 and 3 in one call, each within its own timeout.
    func probeListedAndMount() -> Outcome {
        let values = checkValues()
        guard values.isSuccess else { return values }
        guard let call = resource.companion(NFSClientCall.self) else {
            return .failed("levels 2 and 3 need the companion nfs-client.so beside the plugin (libnfs); it could not be loaded (see the log)")
        }
        return withV3Name(Outcome.failed) { name in
            let within = checkBudget(resource.timeLeft), listBudget = checkBudget(listTimeout)
            let mount = NFSClientCall.ThenMount(path: level3Path(v3Name: name), version: level3Version, timeout: mountTimeout,
                                                within: within)
            let answer = call(NFSClientCall.Request(server: address.description, check: listedCheck(v3Name: name),
                                                    timeout: listBudget, thenMount: mount))
            // Each level's limit named as it was: cut by the action's time, or its attribute's.
            if case .listing(let inner) = answer { return outcome(of: inner, limit: "list_timeout", listTimeout, cut: listBudget < listTimeout) }
            return outcome(of: answer, limit: "mount_timeout", mountTimeout, cut: within < mountTimeout)
        }
    }
}
