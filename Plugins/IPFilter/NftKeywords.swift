// The words nft (libnftables 1.0.6) will not take as a table name.
/// Table names nft's parser refuses: its keywords that are tokens where a
/// table's identifier goes. nft has no quoted identifiers (`add table inet
/// "ip"` is "unexpected quoted string, expecting string"), so a table named
/// one of these cannot be created, listed or deleted: the name check
/// refuses it (2) before any action, and stop can never fail over a name
/// the check let through.
///
/// Source: every token alias in libnftables.so.1 (1.0.6, Debian 12;
/// `strings libnftables.so.1 | grep '^"[a-z0-9_-]*"$'`, 332 words), each
/// tried with `nft -c` as `add table inet WORD`, `delete table inet WORD`,
/// `list table inet WORD` and `flush table inet WORD` (the forms fshost
/// sends; `list` makes plurals such as `tables` and `sets` keywords) in a
/// scratch network namespace: these 153 give a syntax error in at least one.
enum NftKeywords {
    static let refusedAsTableName: Set<String> = [
        "accept", "add", "ah", "all", "arp", "auto-merge", "bridge", "cgroup", "chain", "chains", "comment", "comp",
        "constant", "continue", "counter", "counters", "cpu", "create", "ct", "day", "dccp", "define", "delete",
        "describe", "device", "devices", "dnat", "drop", "dst", "dup", "dynamic", "ecn", "element", "elements", "esp",
        "ether", "exists", "expires", "export", "exthdr", "fib", "flags", "flow", "flowtable", "flowtables", "flush",
        "frag", "fwd", "gc-interval", "get", "goto", "handle", "hbh", "hook", "hooks", "hour", "ibriport", "ibrname",
        "icmp", "icmpv6", "igmp", "iif", "iifgroup", "iifname", "iiftype", "import", "include", "index", "inet",
        "insert", "interval", "ip", "ip6", "ipsec", "jhash", "jump", "limit", "limits", "list", "log", "map", "maps",
        "mark", "masquerade", "meta", "meter", "meters", "mh", "missing", "monitor", "netdev", "nftrace", "notrack",
        "numgen", "obriport", "obrname", "offload", "oif", "oifgroup", "oifname", "oiftype", "osf", "pkttype",
        "policy", "position", "priority", "queue", "quota", "quotas", "random", "redefine", "redirect", "reject",
        "rename", "replace", "reset", "return", "rt", "rt0", "rt2", "rtclassid", "rule", "ruleset", "sctp", "secmark",
        "secmarks", "set", "sets", "size", "skgid", "skuid", "snat", "socket", "srh", "symhash", "synproxy",
        "synproxys", "table", "tables", "tcp", "th", "time", "timeout", "tproxy", "type", "typeof", "udp", "udplite",
        "undefine", "update", "vlan", "vmap", "xt",
    ]
}
