// The one call the nfs plugin makes into its companion nfs-client.so
// (libnfs): declared once here, depended on by both. The build writes this
// file's hash into the call's signature and the companion's record; the
// host refuses a companion built from another version of this file.
import FSKit

/// Levels 2 and 3 of an NFS export, through libnfs (userspace: no kernel
/// mount, no root needed for the check).
public enum NFSClientCall: CompanionCall {
    public static let companionName = "client"

    /// What to check.
    public enum Check: Sendable, Equatable {
        /// Level 2, NFSv3: rpcbind answers and has NFS v3 (TCP) registered,
        /// and the MOUNT v3 export list (found through rpcbind) names `path`.
        case listedV3(path: String)
        /// Level 2, NFSv4: the pseudo path resolves (a v4 mount of it:
        /// PUTROOTFH + LOOKUP of each component + GETATTR) to this export's
        /// root: a GETATTR of the node whose fileid is `fileid`, the
        /// exported directory's inode number (st_ino) on the server, as
        /// Ganesha's VFS FSAL and the kernel's nfsd report it. A pseudo-fs
        /// junction (an intermediate directory Ganesha makes for another
        /// export's deeper pseudo path) resolves too, with a fileid of its
        /// own: that is not this export. nil: the lookup alone (the
        /// directory could not be stat'ed).
        case listedV4(pseudo: String, fileid: UInt64?)
        /// Level 3: mount `path` (v3: the export path; v4: the pseudo
        /// path) with `version` (3 or 4), stat its root (a directory), read
        /// one directory entry, unmount.
        case endToEnd(path: String, version: Int)
    }

    /// Level 3 after level 2 in the same call (a monitor at level 3):
    /// what level 2 proves is not asked again, and what both need (rpcbind's
    /// ports, the MOUNT connection, the v4 lookup of the pseudo path) is
    /// asked once.
    public struct ThenMount: Sendable, Equatable {
        /// As in ``Check/endToEnd(path:version:)``.
        public var path: String
        public var version: Int
        /// Level 3's own limit, counted from the end of level 2 (as when
        /// the levels ran as two calls).
        public var timeout: Duration
        /// The action's time left when the call was made: neither level
        /// runs past it.
        public var within: Duration

        public init(path: String, version: Int, timeout: Duration, within: Duration) {
            self.path = path
            self.version = version
            self.timeout = timeout
            self.within = within
        }
    }

    public struct Request: Sendable, Equatable {
        /// A numeric address (no DNS on the monitor path).
        public var server: String
        public var check: Check
        /// The check's limit: every libnfs call runs in a poll loop that
        /// ends at this deadline (and libnfs's own timeout is set too).
        public var timeout: Duration
        /// With a level-2 `check`: level 3 next, in this call.
        public var thenMount: ThenMount?

        public init(server: String, check: Check, timeout: Duration, thenMount: ThenMount? = nil) {
            self.server = server
            self.check = check
            self.timeout = timeout
            self.thenMount = thenMount
        }
    }

    /// How the check ended, with libnfs's one-line reason.
    public indirect enum Response: Sendable, Equatable {
        case ok
        /// The server answered, and the export is not there (not listed, no
        /// such pseudo path): for stop, "withdrawn".
        case notListed(String)
        /// NFSv3 only: the server itself was not asked, because rpcbind
        /// could not be (`rpcbindAnswered` false: no connection, or the
        /// DUMP failed) or answered without NFS v3 or MOUNT v3 (TCP)
        /// registered (true: rpcbind restarted or killed since the server
        /// registered at its start; Ganesha registers only then).
        case notRegistered(String, rpcbindAnswered: Bool)
        /// No answer within the timeout.
        case timedOut(String)
        case failed(String)
        /// In a call with ``Request/thenMount``: level 2 failed this way
        /// (level 3 did not run).
        case listing(Response)
    }
}
