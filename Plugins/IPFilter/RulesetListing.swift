// The table's listing as level 1 compares it: the rules, not the traffic.

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
        let lines = listing.split(separator: "\n", omittingEmptySubsequences: false)
        var out: [Substring] = []
        out.reserveCapacity(lines.count)
        var i = 0
        while i < lines.count {
            let line = lines[i]
            let body = line.drop { $0 == "\t" || $0 == " " }
            guard (body.hasPrefix("set ") || body.hasPrefix("map ") || body.hasPrefix("meter ")), body.hasSuffix("{") else {
                out.append(line); i += 1; continue
            }
            // The block ends at "}" with the opener's indentation.
            let close = line.prefix { $0 == "\t" || $0 == " " } + "}"
            var end = i + 1
            while end < lines.count, lines[end] != close { end += 1 }
            let block = lines[i..<min(end + 1, lines.count)]
            let dynamic = block.contains { l in
                let b = l.drop { $0 == "\t" || $0 == " " }
                return b.hasPrefix("flags ") && b.dropFirst(6).split(separator: ",").contains { $0.trimmingSpaces == "dynamic" }
            }
            guard dynamic else { out.append(contentsOf: block); i = end + 1; continue }
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
