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
    /// (``NftGeneration``): false when the kernel changes what it lists on
    /// its own, so only a listing can tell —
    /// - a flowtable, or a chain hooked to a device (`device "…"`,
    ///   `devices = { … }`): the kernel drops the hook when the device goes
    ///   (`NETDEV_UNREGISTER`), and a chain with it;
    /// - a table with `flags owner`: deleted when its owner's socket closes;
    /// - a set or map other than a dynamic one that mentions a `timeout`:
    ///   its elements expire (a dynamic set's are left out of the listing).
    /// Anything else in a stateless listing (rules, chains, objects,
    /// elements without timeouts) is changed by a commit only.
    static func changesOnlyByCommits(_ listing: String) -> Bool {
        // Most tables mention none of the words below: one pass each.
        guard ["flowtable", "device", "owner", "timeout"].contains(where: { mentions(listing[...], $0) }) else { return true }
        let lines = listing.split(separator: "\n", omittingEmptySubsequences: false)
        var i = 0
        while i < lines.count {
            if let (end, dynamic) = setBlock(lines, at: i) {
                if !dynamic, lines[i...min(end, lines.count - 1)].contains(where: { mentions($0, "timeout") }) { return false }
                i = end + 1
                continue
            }
            let body = lines[i].drop { $0 == "\t" || $0 == " " }
            if body.hasPrefix("flowtable ") || mentions(body, "device \"") || mentions(body, "devices = ") {
                return false
            }
            if body.hasPrefix("flags "), body.dropFirst(6).split(separator: ",").contains(where: { $0.trimmingSpaces == "owner" }) {
                return false
            }
            i += 1
        }
        return true
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
