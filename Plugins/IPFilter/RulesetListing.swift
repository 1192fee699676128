// The table's listing as level 1 compares it: the rules, not the traffic.

import CSystemShims

enum RulesetListing {
    /// `listing` (nft's stateless text, `nft -s list table`) without the
    /// elements of dynamic sets and maps.
    ///
    /// A set the packet path writes (`add @seen { ip saddr }`, `update
    /// @s { … }`, a meter) is listed by the kernel with `flags dynamic`
    /// (1.0.6 adds the flag to any set a rule updates, declared or not),
    /// and its elements are what traffic put there: they grow, time out
    /// and come back, like counter values, which the stateless listing
    /// already leaves out (`NFT_CTX_OUTPUT_STATELESS` hides counter and
    /// quota values and element expiry, not elements). So their `elements
    /// = { … }` lines are dropped from both listings compared. The
    /// elements of every other set stay: an element added or deleted by
    /// hand there is drift.
    static func normalised(_ listing: String) -> String {
        // Without a dynamic set there is nothing to leave out.
        guard mentions(listing[...], "dynamic") else { return listing }
        let lines = listing.split(separator: "\n", omittingEmptySubsequences: false)
        var out: [Substring] = []
        out.reserveCapacity(lines.count)
        var i = 0
        while i < lines.count {
            guard let (end, dynamic) = setBlock(lines, at: i) else {
                out.append(lines[i]); i += 1; continue
            }
            guard dynamic else { out.append(contentsOf: lines[i..<min(end + 1, lines.count)]); i = end + 1; continue }
            var k = i
            while k < min(end + 1, lines.count) {
                let b = lines[k].drop { $0 == "\t" || $0 == " " }
                if b.hasPrefix("elements = {") {
                    k = endOfElements(lines, from: k) + 1
                    continue
                }
                out.append(lines[k]); k += 1
            }
            i = end + 1
        }
        return out.joined(separator: "\n")
    }

    /// Whether the table `listing` (normalised) shows can only change by a
    /// committed transaction, which the namespace's generation counts
    /// (``NftGeneration``): false when the kernel changes what it lists, or
    /// what a rule matches, on its own, so only a listing can tell —
    /// - a word of ``deviceOrCgroupWords`` anywhere (rules, set types,
    ///   chains): the rule holds an interface index or a cgroup id, which
    ///   the kernel resolved from a name at load. A device deleted and made
    ///   again under its name gets another index: `iif "v0"` then matches
    ///   nothing and lists as `iif 3`, with no commit (review of issue 11);
    ///   a flowtable or a chain hooked to a device loses its hook with the
    ///   device (6.18 still lists `device "v1"` after v1 moved: only the
    ///   listing may tell, so it is always compared);
    /// - a set or map other than a dynamic one that mentions a `timeout`:
    ///   its elements expire (a dynamic set's are left out of the listing).
    /// The check is by word, not by grammar: a set or comment named `oif`
    /// also lists every time (errs towards listing). Anything else in a
    /// stateless listing (rules, chains, objects, elements without
    /// timeouts) is changed by a commit only; quota use is not listed at
    /// all (README: what level 1 does not see).
    static func changesOnlyByCommits(_ listing: String) -> Bool {
        // Most tables mention none of the words below: one pass each.
        guard (["timeout"] + deviceOrCgroupWords.map { $0 }).contains(where: { mentions(listing[...], $0) })
        else { return true }
        let lines = listing.split(separator: "\n", omittingEmptySubsequences: false)
        var i = 0
        while i < lines.count {
            if let (end, dynamic) = setBlock(lines, at: i) {
                let block = lines[i...min(end, lines.count - 1)]
                if !dynamic, block.contains(where: { mentions($0, "timeout") }) { return false }
                if block.contains(where: { mentionsWord(of: deviceOrCgroupWords, in: $0) }) { return false }
                i = end + 1
                continue
            }
            if mentionsWord(of: deviceOrCgroupWords, in: lines[i]) { return false }
            i += 1
        }
        return true
    }

    /// nft words whose rule or object holds what the kernel changes without
    /// a commit (nft(8) "META EXPRESSIONS", "SOCKET EXPRESSION", "FWD
    /// STATEMENT", "DUP STATEMENT", "FLOWTABLES", the `iface_index` data
    /// type): interface indexes (`iif`, `oif`, `sdif`, `meta iif`, `fib …
    /// oif`, `fwd to`, `dup to`, sets of `iface_index`), device hooks
    /// (`device`, `devices`, `flowtable`), cgroup ids (`meta cgroup`,
    /// `socket cgroupv2`), and `xt` (an xtables match nft cannot show).
    static let deviceOrCgroupWords: Set<String> = [
        "iif", "oif", "sdif", "iface_index", "fwd", "dup", "device", "devices", "flowtable", "cgroup", "cgroupv2",
        "xt",
    ]

    /// Whether `line` holds one of `words` as a whole word: a run of
    /// letters, digits and `_` `-`, so `iifname` is not `iif` (quoted text
    /// counts too: errs towards listing).
    static func mentionsWord(of words: Set<String>, in line: Substring) -> Bool {
        var start: Substring.UTF8View.Index?
        let utf8 = line.utf8
        var k = utf8.startIndex
        while true {
            let c: UInt8? = k < utf8.endIndex ? utf8[k] : nil
            let inWord = c.map { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39)
                || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") } ?? false
            if inWord {
                if start == nil { start = k }
            } else if let s = start {
                if words.contains(String(decoding: utf8[s..<k], as: UTF8.self)) { return true }
                start = nil
            }
            guard c != nil else { return false }
            k = utf8.index(after: k)
        }
    }

    /// Whether the bytes of `word` occur in `text` (memmem over its UTF-8:
    /// the listing is searched for ASCII words, where bytes are characters;
    /// `containsText` compares `Character`s, ~100× slower here).
    static func mentions(_ text: Substring, _ word: String) -> Bool {
        var word = word
        return word.withUTF8 { needle in
            let found = text.utf8.withContiguousStorageIfAvailable { hay in
                csys_memmem(hay.baseAddress, hay.count, needle.baseAddress, needle.count) != nil
            }
            return found ?? Array(text.utf8).withUnsafeBufferPointer {
                csys_memmem($0.baseAddress, $0.count, needle.baseAddress, needle.count) != nil
            }
        }
    }

    /// When line `i` opens a set, map or meter block: the line of its
    /// closing `}` (the opener's indentation) and whether its flags say
    /// `dynamic`.
    static func setBlock(_ lines: [Substring], at i: Int) -> (end: Int, dynamic: Bool)? {
        let line = lines[i]
        let body = line.drop { $0 == "\t" || $0 == " " }
        guard body.hasPrefix("set ") || body.hasPrefix("map ") || body.hasPrefix("meter "), body.hasSuffix("{") else {
            return nil
        }
        let close = line.prefix { $0 == "\t" || $0 == " " } + "}"
        var end = i + 1
        while end < lines.count, lines[end] != close { end += 1 }
        let dynamic = lines[i..<min(end + 1, lines.count)].contains { l in
            let b = l.drop { $0 == "\t" || $0 == " " }
            return b.hasPrefix("flags ") && b.dropFirst(6).split(separator: ",").contains { $0.trimmingSpaces == "dynamic" }
        }
        return (end, dynamic)
    }

    /// The line where the `elements = { … }` starting on line `start` ends
    /// (its braces balanced, quoted strings skipped).
    static func endOfElements(_ lines: [Substring], from start: Int) -> Int {
        var depth = 0, quoted = false
        for k in start..<lines.count {
            for c in lines[k].utf8 {
                if c == UInt8(ascii: "\"") { quoted.toggle(); continue }
                if quoted { continue }
                if c == UInt8(ascii: "{") { depth += 1 }
                if c == UInt8(ascii: "}") { depth -= 1 }
            }
            if depth <= 0 && !quoted { return k }
        }
        return lines.count - 1
    }
}

private extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f == " " { s = s.dropFirst() }
        while let l = s.last, l == " " { s = s.dropLast() }
        return s
    }
}
