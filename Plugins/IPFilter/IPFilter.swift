// The ipfilter resource type: a firewall ruleset as a failover resource, on
// the kernel's nftables. The FailSafe guide's own example of a resource with
// nothing to monitor: "the Linux kernel ipchains filtering software performs
// IP filtering on firewall nodes. Because the filtering is done in the
// kernel, there is no process or resource to monitor." Level 0 is that
// answer, and the default; level 1 compares the kernel's table with what
// start loaded.
//
// The resource owns one table (family and name) and touches nothing else:
// the ruleset file is refused if any of its commands names another table
// (RulesetScope), and stop deletes that table only, never the ruleset.
//
//   validate   the names, the file, its scope, the namespace; the validate
//              action alone also dry-runs start's batch (nft -c)
//   start      check the file (trusted, only its table, names it), then,
//              unless the table already equals what this file loaded,
//              replace the table in one transaction, which is also the
//              check: a bad file leaves the old rules; keep the listing
//   restart    load again, always (a fresh table: dynamic sets emptied)
//   stop       delete the table (absent: done)
//   exclusive  the table is present here
//   level 0    success: kernel filtering, nothing to monitor
//   level 1    the table's listing equals the one kept at start (dynamic
//              sets' elements aside: traffic), and the file is unchanged;
//              the listing is skipped while no nftables commit came in the
//              namespace since it last compared equal (NftGeneration)
//
// libnftables lives in the companion ipfilter-nft.so, loaded by every action
// but monitor level 0 (and the validate the host runs before start) and a
// level 1 whose generation did not move: the default monitor costs what the
// template's does.
import FSKit
import NftablesCall
#if canImport(Glibc)
import Glibc
#endif

struct IPFilter: ResourceType {
    // MARK: Description

    static let summary = "A firewall ruleset (nftables) in a table of its own, replaced atomically; optionally in a network namespace"

    /// nftables address families (nft(8) "ADDRESS FAMILIES").
    enum Family: String, CaseIterable, Sendable { case inet, ip, ip6, arp, bridge, netdev }

    static let ruleset = Attribute.path("ruleset",
        "the ruleset file in nft syntax; every command must stay in the resource's table (no include, no flush ruleset); owned by root, writable by nobody else").required
    static let family = Attribute.choice("family", default: Family.inet, "the table's address family")
    /// The names' rules are the schema's (pattern, refused words, length),
    /// so `fshost cdb define` refuses a bad name (2) before any action; the
    /// host checks them again before every action (a CDB written by an
    /// older fshost). ``checkValues()`` is the same rule in the plugin.
    static let table = Attribute.string("table", matching: "[A-Za-z_][A-Za-z0-9_.-]*",
        described: "an nft table name: letters, digits, _ - . , starting with a letter or _, at most 255 bytes, and not an nft keyword (nft has no quoted names)",
        refusing: NftKeywords.refusedAsTableName.sorted(), maximumLength: 255,
        "the table the resource owns: created by start, deleted by stop").required
    static let netns = Attribute.string("netns", matching: "[A-Za-z0-9_.-]+",
        described: "a file name under /run/netns: letters, digits, _ - . , at most 255 bytes, not . or .. (set but empty is refused, never read as unset)",
        refusing: [".", ".."], maximumLength: 255,
        "optional: a network namespace by name (/run/netns/NAME, as `ip netns add` makes); the table lives there. Unset: the node's own namespace")

    static let attributes: [Attribute] = [ruleset, family, table, netns]

    static let levels = [
        MonitorLevel(0, "none", checks: "nothing: kernel filtering has no process to monitor (the FailSafe guide's example)",
                     cost: "none; libnftables is not loaded"),
        MonitorLevel(1, "ruleset", checks: "the table is present and its listing (stateless: no counter values) equals the one start loaded; the file is unchanged since",
                     cost: "one netlink exchange (the namespace's nftables generation) and the file; after a commit in the namespace also libnftables (the ipfilter-nft companion) and a listing of the table"),
    ]

    /// Level 0 by default. The per-level time limit is the host's
    /// monitor_timeout: the level-1 listing is one netlink exchange with the
    /// local kernel, which a plugin cannot cut short, and which the host
    /// abandons at that deadline.
    static let defaults = ActionDefaults(
        timeouts: [.exclusive: .seconds(5), .start: .seconds(15), .stop: .seconds(15), .monitor: .seconds(10),
                   .restart: .seconds(30), .validate: .seconds(5)],
        level: 0, retries: 1, retryInterval: .milliseconds(500))

    /// State key: what start loaded, as "FINGERPRINT\nLISTING": the file's
    /// fingerprint and the kernel's listing of the table right after the
    /// load (one key: one synced write per start).
    static let loadedKey = "loaded"

    // MARK: Configuration

    let resource: Resource
    let path: String, family: Family, table: String, namespace: String?

    init(resource: Resource) throws(ConfigurationError) {
        self.resource = resource
        path = resource[Self.ruleset]
        family = resource[Self.family]
        table = resource[Self.table]
        // Set but empty is not unset: an empty name is refused by
        // checkValues (2), never read as "the node's own namespace".
        namespace = resource[Self.netns]
    }

    var ownTable: String { "table \(family.rawValue) \(table)" }

    // MARK: Validation

    /// The table and namespace names (HA_INVAL_ARGS naming the attribute).
    func checkValues() -> Outcome {
        if !Self.isIdentifier(table) {
            return .invalid("attribute 'table' must start with a letter or '_' and hold only letters, digits, '_', '-', '.' (at most 255 bytes): '\(table)'")
        }
        if NftKeywords.refusedAsTableName.contains(table) {
            return .invalid("attribute 'table': '\(table)' is an nft keyword, which nft does not accept as a table name (it has no quoted names): choose another")
        }
        if let namespace, !Self.isNamespaceName(namespace) {
            return .invalid("attribute 'netns' must be a name under /run/netns (letters, digits, '_', '-', '.'; not '.' or '..'): '\(namespace)'")
        }
        return .success
    }

    /// The values, then the file: readable, trusted, and touching only the
    /// resource's table (HA_NOCFGINFO naming the file and the line).
    func checkedRuleset() -> Result<String, ConfigurationError> {
        let values = checkValues()
        guard values.isSuccess else { return .failure(ConfigurationError(values)) }
        switch RulesetFile.read(path) {
        case .failure(let problem):
            return .failure(ConfigurationError(.badConfiguration("attribute 'ruleset': \(problem.reason)")))
        case .success(let text):
            if let why = RulesetScope.problem(in: text, family: family.rawValue, table: table) {
                return .failure(ConfigurationError(.badConfiguration("ruleset file \(path) \(why)")))
            }
            return .success(text)
        }
    }

    /// The values, the file, its scope, the namespace exists; then, for
    /// the `validate` action itself, libnftables' dry run of start's very
    /// batch in the namespace (`nft -c`): a syntax error or a rule the
    /// kernel refuses is 6, naming the file's line; nothing is committed.
    ///
    /// The validate the host runs before start and restart skips that dry
    /// run: it is a kernel transaction as costly as the load (`nft -c -f`
    /// 17.0 ms, `nft -f` 16.5 ms, hyperfine, the test's ruleset) and start's
    /// commit makes the same check (a refused batch leaves the old rules),
    /// so it would double start. A host older than `fshost_host.action`
    /// (action unknown) gets no dry run either.
    func validate() -> Outcome {
        let text: String
        switch checkedRuleset() {
        case .failure(let error): return error.outcome
        case .success(let t): text = t
        }
        if let namespace {
            let path = "/run/netns/" + namespace
            var st = stat()
            if stat(path, &st) != 0 {
                return .badConfiguration("attribute 'netns': network namespace \(namespace): \(path): \(String(cString: strerror(errno))) (see ip netns list)")
            }
        }
        guard resource.action == .validate else { return .success }
        guard let answer = nft(.check(ruleset: text, path: path)) else { return Self.noCompanion }
        switch answer {
        case .done: return .success
        case .refused(let why):
            return .badConfiguration("ruleset file \(path) refused by libnftables' dry run (nothing changed): \(why)")
        case .namespaceMissing(let why): return .badConfiguration("attribute 'netns': \(why)")
        case .absent: return .success
        case .failed(let why): return .failed(why)
        }
    }

    // MARK: Actions

    /// The companion's answer to one operation, or nil with the host's
    /// reason set (missing or refused: the host answers 5 or 7).
    func nft(_ operation: NftablesCall.Operation) -> NftablesCall.Response? {
        guard let call = resource.companion(NftablesCall.self) else { return nil }
        return call(NftablesCall.Request(operation, family: family.rawValue, table: table, namespace: namespace))
    }

    static let noCompanion = Outcome.failed("ipfilter needs the companion ipfilter-nft.so beside the plugin (libnftables); it could not be loaded (see the log)")

    /// Load the file into the table, atomically; idempotent: when the
    /// table already holds what this same file loaded (the fingerprint and
    /// listing kept by the last start, compared first), nothing is
    /// reloaded, so the elements traffic put in dynamic sets and the
    /// counters are kept.
    func start() -> Outcome { load(always: false) }

    /// `always`: replace the table even when it already equals the file
    /// (restart: a fresh table, dynamic sets emptied, counters zero).
    func load(always: Bool) -> Outcome {
        let text: String
        switch checkedRuleset() {
        case .failure(let error): return error.outcome
        case .success(let t): text = t
        }
        let fingerprint = RulesetFile.fingerprint(text)
        if !always, let loaded = resource.state[Self.loadedKey], let newline = loaded.firstIndex(of: "\n"),
           loaded[..<newline] == fingerprint {
            guard let answer = nft(.list) else { return Self.noCompanion }
            if case .done(let listing) = answer,
               RulesetListing.normalised(listing) == RulesetListing.normalised(String(loaded[loaded.index(after: newline)...])) {
                resource.log.info("\(ownTable) already holds \(path) as start loaded it: not reloaded (set elements and counters kept)")
                return .success
            }
        }
        guard let answer = nft(.load(ruleset: text, path: path)) else { return Self.noCompanion }
        switch answer {
        case .done(let listing):
            do {
                // Unsynced: a reboot empties the kernel's tables, so this
                // listing never needs to outlive one; the fsync was start's
                // longest wait of its own (median 4.8 ms on ext4, strace -T).
                try resource.state.store(fingerprint + "\n" + RulesetListing.normalised(listing), for: Self.loadedKey,
                                         synced: false)
            } catch {
                return .failed("\(ownTable) loaded, but \(error)")
            }
            return .success
        case .refused(let why):
            return .badConfiguration("ruleset file \(path) refused by libnftables (nothing changed): \(why)")
        case .namespaceMissing(let why): return .badConfiguration("attribute 'netns': \(why)")
        case .absent: return .failed("\(ownTable) is missing right after it was loaded")
        case .failed(let why): return .failed(why)
        }
    }

    /// Delete the table, nothing else; idempotent.
    func stop() -> Outcome {
        let values = checkValues()
        guard values.isSuccess else { return values }
        guard let answer = nft(.remove) else { return Self.noCompanion }
        switch answer {
        case .done, .absent:
            resource.state[Self.loadedKey] = nil
            resource.state[Self.verifiedKey] = nil
            return .success
        case .namespaceMissing(let why):
            // No namespace, no table of ours in it.
            resource.log.info("\(why): nothing to delete")
            return .success
        case .refused(let why), .failed(let why): return .failed(why)
        }
    }

    func probe(level: UInt32) -> Outcome {
        switch level {
        case 0: return .success
        case 1: return probeRuleset()
        default: return .invalid("no monitoring level \(level)")
        }
    }

    /// Level 1: the table as the kernel lists it now equals its listing
    /// right after start. Both are the kernel's rendering of the same rules,
    /// so sets, counters and names the kernel resolves to numbers (`ssh` →
    /// 22) render alike; counter and quota values are left out (stateless
    /// listing), so traffic is not drift. A rule added, changed or deleted
    /// by hand is.
    ///
    /// The listing (libnftables, its companion, ~8 netlink exchanges and
    /// the rendering) is skipped while the namespace's nftables generation
    /// is the one kept by the last equal comparison (``verifiedKey``): no
    /// commit since, by anyone, so nothing in the table changed. Any doubt
    /// — no generation (older kernel, namespace gone), another one, another
    /// boot, namespace or table named, another start, a table the kernel changes without
    /// commits (``RulesetListing/changesOnlyByCommits(_:)``) — compares the
    /// listings. The file is read and compared every time.
    func probeRuleset() -> Outcome {
        let values = checkValues()
        guard values.isSuccess else { return values }
        // An unusable state directory is its own cause (the host names it,
        // e.g. its permissions), never "not started by fshost".
        let loaded: String?
        do { loaded = try resource.state.value(for: Self.loadedKey) } catch {
            return .failed("cannot compare \(ownTable) with what start kept: \(error)")
        }
        var stranded: String?
        let generations = NftGeneration.Reader.open(namespace: namespace, stranded: &stranded)
        defer { generations?.close() }
        if let stranded { return .failed(stranded) }
        let before = generations?.read()
        if let loaded, let before, resource.state[Self.verifiedKey] == verified(before, loaded) {
            return fileUnchanged(since: loaded)
        }
        guard let answer = nft(.list) else { return Self.noCompanion }
        let now: String
        switch answer {
        case .done(let listing): now = listing
        case .absent: return .notRunning("\(ownTable) is not loaded")
        case .namespaceMissing(let why): return .notRunning(why)
        case .refused(let why), .failed(let why): return .failed(why)
        }
        guard let loaded, let newline = loaded.firstIndex(of: "\n") else {
            return .failed("\(ownTable) is present, but no listing was kept by start (not started by fshost, or its state was lost): restart it")
        }
        let kept = RulesetListing.normalised(String(loaded[loaded.index(after: newline)...]))
        let current = RulesetListing.normalised(now)
        if current != kept {
            return .failed("\(ownTable) differs from what start loaded from \(path): " + Self.firstDifference(kept, current))
        }
        let file = fileUnchanged(since: loaded)
        // Kept only when no commit came between the two reads (the listing
        // is that generation's), unsynced (a reboot changes boot_id). The
        // old value is removed first: a rename over an existing file makes
        // ext4 (auto_da_alloc) start writing the new one out, ~0.5 ms here
        // (strace -T), and a missing key only means one more listing.
        if file.isSuccess, let before, generations?.read() == before, RulesetListing.changesOnlyByCommits(kept) {
            try? resource.state.store(nil, for: Self.verifiedKey)
            try? resource.state.store(verified(before, loaded), for: Self.verifiedKey, synced: false)
        }
        return file
    }

    /// The ruleset file still has the fingerprint start kept (`loaded`).
    func fileUnchanged(since loaded: String) -> Outcome {
        switch RulesetFile.read(path) {
        case .failure(let problem): return .failed("cannot compare with the ruleset file: \(problem.reason)")
        case .success(let text):
            if RulesetFile.fingerprint(text)[...] != loaded.prefix(while: { $0 != "\n" }) {
                return .failed("ruleset file \(path) changed since start: the kernel runs the old rules (restart loads it)")
            }
        }
        return .success
    }

    /// State key: "BOOT NAMESPACE GENERATION LOADED FAMILY TABLE NETNS":
    /// the nftables generation at which the table's listing last compared
    /// equal to the one start kept, the fingerprint of that kept value
    /// (another start, another listing: compared again), and the table and
    /// namespace it was listed in (`/` for the node's own, not a valid
    /// name): a resource modified to name another table or namespace is
    /// listed there, never answered from the old one's comparison (review
    /// of issue 11).
    static let verifiedKey = "verified"

    func verified(_ generation: NftGeneration, _ loaded: String) -> String {
        generation.text + " " + RulesetFile.fingerprint(loaded) + " " + family.rawValue + " " + table + " "
            + (namespace ?? "/")
    }

    // MARK: Values

    /// "line N: expected 'x', found 'y'" for two listings.
    static func firstDifference(_ expected: String, _ found: String) -> String {
        let a = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let b = found.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? String(a[i]).trimmingTabs : "(end)"
            let y = i < b.count ? String(b[i]).trimmingTabs : "(end)"
            if x != y { return "listing line \(i + 1): expected '\(LogText.escaped(x, limit: 200))', found '\(LogText.escaped(y, limit: 200))'" }
        }
        return "listings differ"
    }

    /// An nft identifier as this type accepts it for a table.
    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 255,
              isLetter(first) || first == UInt8(ascii: "_") else { return false }
        return name.utf8.allSatisfy { isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_")
            || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }

    /// A file name under /run/netns: no '/', not '.' or '..' (iproute2's rule, tighter).
    static func isNamespaceName(_ name: String) -> Bool {
        name != "." && name != ".." && !name.isEmpty && name.utf8.count <= 255
            && name.utf8.allSatisfy { isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_")
                || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }

    static func isLetter(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
}

extension IPFilter: ExclusiveCheck {
    /// Running here when the table is present.
    func exclusive() -> Outcome {
        let values = checkValues()
        guard values.isSuccess else { return values }
        guard let answer = nft(.list) else { return Self.noCompanion }
        switch answer {
        case .done: return .running("\(ownTable) is loaded")
        case .absent, .namespaceMissing: return .notRunning()
        case .refused(let why), .failed(let why): return .failed(why)
        }
    }
}

extension IPFilter: CustomRestart {
    /// Load again, always (even a table equal to the file): one atomic
    /// replace, so the node is never without its rules (stop then start
    /// would leave a gap). The new table starts afresh: dynamic sets are
    /// empty and counters zero.
    func restart() -> Outcome { load(always: true) }
}

private extension String {
    var trimmingTabs: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        return String(s)
    }
}
