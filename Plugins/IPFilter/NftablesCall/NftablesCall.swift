// The one call the ipfilter plugin makes into its companion ipfilter-nft.so
// (libnftables): declared once here, depended on by both. The build writes
// this file's hash into the call's signature and the companion's record; the
// host refuses a companion built from another version of this file before
// loading it.
import FSKit

/// One nftables operation on the resource's own table, in its network
/// namespace, through libnftables.
public enum NftablesCall: CompanionCall {
    public static let companionName = "nft"

    /// What to do with the table.
    public enum Operation: Sendable, Equatable {
        /// Replace the table with `ruleset` in one transaction (`add
        /// table; delete table;` and the ruleset, parsed as a file so that
        /// errors carry its own line and column, in one batch, which the
        /// kernel applies all or nothing): a refused ruleset leaves the old
        /// table as it was.
        /// `ruleset` is the file's text, already checked by the plugin to
        /// touch only this table; `path` names it in messages.
        case load(ruleset: String, path: String)
        /// `load`'s very batch as libnftables' dry run (`nft -c`): parsed,
        /// evaluated and sent to the kernel, which checks it and commits
        /// nothing; errors name the file's line as load's do. For the
        /// `validate` action alone (it costs a kernel transaction, as much
        /// as the load). `.done(listing: "")` when it would load.
        case check(ruleset: String, path: String)
        /// Delete the table (absent: nothing to do).
        case remove
        /// The table's listing (stateless text: counter values left out).
        case list
    }

    public struct Request: Sendable, Equatable {
        public var operation: Operation
        /// nftables family: ip, ip6, inet, arp, bridge, netdev.
        public var family: String
        /// The table's name.
        public var table: String
        /// A name under /run/netns (as `ip netns add NAME` makes), entered
        /// with setns(2) for this call only; nil: the caller's namespace.
        public var namespace: String?

        public init(_ operation: Operation, family: String, table: String, namespace: String?) {
            self.operation = operation
            self.family = family
            self.table = table
            self.namespace = namespace
        }
    }

    /// How the operation ended.
    public enum Response: Sendable, Equatable {
        /// Done. For load and list: the table's listing afterwards
        /// (`nft -s list table`: stateless, no handles); for remove: "".
        case done(listing: String)
        /// list: the table does not exist; remove: it did not exist.
        case absent
        /// The namespace does not exist (/run/netns/NAME missing), with why.
        case namespaceMissing(String)
        /// load, check: libnftables or the kernel refused the ruleset; the
        /// message, naming the file's line. Nothing was changed.
        case refused(String)
        /// Anything else (a netlink error, no CAP_NET_ADMIN), with why.
        case failed(String)
    }
}
