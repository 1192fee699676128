// The Ganesha EXPORT block of one resource, generated from its typed
// attributes — never free text. Ganesha has no dry-run of a config file,
// and one export file that does not parse withdraws every export of the
// server on the next reload (DESIGN.md §8, "the reload hazard"), so the
// block is made safe by construction: every value is checked against a
// grammar that cannot leave its place in the block (no quote, backslash,
// brace, semicolon, comment or control character), and the rest of the
// block is fixed text.
import FSKit

/// One export as Ganesha reads it (ganesha-export-config(8)).
struct ExportBlock: Equatable {
    var exportID: Int
    /// The exported directory.
    var path: String
    /// Its place in the NFSv4 pseudo file system.
    var pseudo: String
    var clients: [String]
    var access: NFS.Access
    var squash: NFS.Squash
    var versions: NFS.Versions

    /// The file's text: one EXPORT block, one value per line.
    /// `Attr_Expiration_Time = 0`: Ganesha's metadata cache (MDCACHE)
    /// otherwise trusts an entry's attributes for 60 s (the export
    /// default, ganesha-export-config(8)), so a root made unreadable, or
    /// removed, kept passing level 3 for up to a minute (measured ~50 s);
    /// with 0 every GETATTR and access check reads the file system
    /// (mdcache_is_attrs_valid: an expiry of 0 is never valid).
    var text: String {
        // Concatenated, not `joined(separator:)`: its unspecialised generic
        // form cost level 1 a conformance scan on every call (perf).
        var protocols = "", clientList = ""
        for n in versions.numbers { protocols += (protocols.isEmpty ? "" : ", ") + String(n) }
        for c in clients { clientList += (clientList.isEmpty ? "" : ", ") + c }
        return """
        # Written by fshost (nfs resource): generated from the resource's attributes; do not edit.
        EXPORT {
            Export_Id = \(exportID);
            Path = "\(path)";
            Pseudo = "\(pseudo)";
            Protocols = \(protocols);
            Transports = TCP;
            SecType = sys;
            Access_Type = None;
            Squash = \(squash.ganeshaName);
            Attr_Expiration_Time = 0;
            CLIENT {
                Clients = \(clientList);
                Access_Type = \(access == .rw ? "RW" : "RO");
            }
            FSAL {
                Name = VFS;
            }
        }

        """
    }

    // MARK: The grammar of each value

    /// Bytes a path may hold inside the block's quotes: letters, digits and
    /// `/ . _ - + @ , : = ~`. Stricter than Ganesha's string syntax on
    /// purpose: nothing here can end the string or the statement.
    static func pathProblem(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return "must be an absolute path" }
        guard path.utf8.count <= 1024 else { return "is longer than 1024 bytes" }
        for scalar in path.unicodeScalars where !(scalar.isASCII && isPathByte(UInt8(scalar.value))) {
            return "holds '\(shown(scalar))': only letters, digits and / . _ - + @ , : = ~ are allowed"
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if path != "/" && parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
            return "must be normalised (no '//', '.', '..' or trailing '/')"
        }
        return nil
    }

    /// One character as a message shows it, never blank nor U+FFFD:
    /// printable ASCII as itself, `\n` `\t` `\r`, other ASCII as `\x20`,
    /// the rest as `\u{e4}`.
    static func shown(_ scalar: Unicode.Scalar) -> String {
        switch scalar.value {
        case 0x0A: return "\\n"
        case 0x09: return "\\t"
        case 0x0D: return "\\r"
        case 0x21...0x7E: return String(scalar)
        case 0...0x7F:
            let hex = String(scalar.value, radix: 16)
            return "\\x" + (hex.count < 2 ? "0" : "") + hex
        default: return "\\u{" + String(scalar.value, radix: 16) + "}"
        }
    }

    /// `text` with every character outside printable ASCII (and the space)
    /// shown as ``shown(_:)`` does.
    static func escaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars { out += shown(scalar) }
        return out
    }

    static func isPathByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            || "/._-+@,:=~".utf8.contains(b)
    }

    /// One client spec: an IPv4 or IPv6 address, a network `ADDRESS/PREFIX`,
    /// `*`, a host name, a wildcard host name (`*.example.org`), or a
    /// netgroup `@name` — the forms ganesha-export-config(8) lists, narrowed
    /// to what Ganesha's config lexer (src/config_parsing/conf_lex.l)
    /// certainly reads as one client: a name token starts with a letter
    /// (`1host` lexes as the number 1 then a name: a syntax error that
    /// withdraws the export), netgroups `@` + a letter, prefix lengths
    /// without a leading zero, and no name that lexes as a boolean
    /// (yes/true/on/no/false/off). nil when valid.
    static func clientProblem(_ spec: String) -> String? {
        if spec.isEmpty { return "an empty client" }
        if spec == "*" { return nil }
        let shownSpec = escaped(spec)
        if spec.hasPrefix("@") {
            return isNetgroupName(String(spec.dropFirst())) ? nil
                : "'\(shownSpec)' is not a netgroup name (@ then a letter, then letters, digits, _ . -)"
        }
        if let slash = spec.firstIndex(of: "/") {
            let address = String(spec[..<slash]), prefix = String(spec[spec.index(after: slash)...])
            guard let ip = IPAddress(numeric: address), ip.scope == 0 else {
                return "'\(shownSpec)': '\(escaped(address))' is not a numeric address"
            }
            // Ganesha 4.3's lexer reads an IPv6 prefix of 1-99 only (its
            // parser refuses `::/0` and `::1/128`: measured with
            // config_ParseFile, every length 0-129): a wider grammar here
            // would send a block that does not parse. `*` is every client.
            let range = ip.isIPv6 ? 1...99 : 0...32
            guard !prefix.isEmpty, prefix.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), prefix.count <= 3,
                  prefix == "0" || !prefix.hasPrefix("0"), let bits = Int(prefix), range.contains(bits) else {
                return "'\(shownSpec)': the prefix length must be \(range.lowerBound)-\(range.upperBound), without a leading zero"
                    + (ip.isIPv6 ? " (Ganesha 4.3 reads no other IPv6 prefix; use * for every client, the address alone for /128)" : "")
            }
            return nil
        }
        if spec.contains(Character(":")) {
            guard let ip = IPAddress(numeric: spec), ip.isIPv6, ip.scope == 0 else { return "'\(shownSpec)' is not an IPv6 address" }
            return nil
        }
        if let first = spec.utf8.first, first >= 0x30 && first <= 0x39 {
            if spec.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E }) {
                return IPAddress(numeric: spec) == nil ? "'\(shownSpec)' is not an IPv4 address" : nil
            }
            return "'\(shownSpec)' is neither an address nor a host name (a host name starts with a letter)"
        }
        if ["yes", "true", "on", "no", "false", "off"].contains(spec.lowercased()) {
            return "'\(shownSpec)' reads as a boolean in Ganesha's configuration, not as a host name"
        }
        return isHostName(spec) ? nil
            : "'\(shownSpec)' is not an address, network, host name, wildcard or @netgroup (each label of a name starts with a letter; letters, digits, - and the wildcards * ?)"
    }

    /// Labels of 1-63 bytes (253 in all), each either wildcards only (`*`,
    /// `?`) or starting with a letter, then letters, digits, `-`, `*`, `?`,
    /// not ending with `-`.
    static func isHostName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        func isLetter(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
        func isWildcard(_ b: UInt8) -> Bool { b == 0x2A || b == 0x3F }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            let bytes = Array(label.utf8)
            guard !bytes.isEmpty, bytes.count <= 63, bytes.last != 0x2D else { return false }
            if bytes.allSatisfy(isWildcard) { continue }
            guard isLetter(bytes[0]) || isWildcard(bytes[0]) else { return false }
            if isWildcard(bytes[0]), let firstOther = bytes.first(where: { !isWildcard($0) }), !isLetter(firstOther) { return false }
            for b in bytes where !(isLetter(b) || (b >= 0x30 && b <= 0x39) || b == 0x2D || isWildcard(b)) { return false }
        }
        return true
    }

    /// A netgroup name after `@`: a letter, then letters, digits, `_ . -`
    /// (conf_lex.l's NETGROUP_CHARS without its leading `_`), at most 255 bytes.
    static func isNetgroupName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 255, (first >= 0x41 && first <= 0x5A) || (first >= 0x61 && first <= 0x7A) else {
            return false
        }
        return bytes.allSatisfy { b in
            (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b == 0x2E || b == 0x2D
        }
    }

    /// Whether `address` is certainly among `clients`: `*`, the address
    /// itself, or a network holding it (same family). Host names, wildcards
    /// and netgroups would need DNS or NIS, which the monitor path never
    /// does, so they never count.
    static func covers(_ clients: [String], _ address: IPAddress) -> Bool {
        for spec in clients {
            if spec == "*" { return true }
            let parts = spec.split(separator: "/", maxSplits: 1).map(String.init)
            guard let ip = IPAddress(numeric: parts[0]), ip.family == address.family else { continue }
            let bits = parts.count == 2 ? (Int(parts[1]) ?? -1) : ip.bytes.count * 8
            guard bits >= 0, bits <= ip.bytes.count * 8 else { continue }
            var matches = true
            for i in 0..<ip.bytes.count {
                let take = min(8, max(0, bits - i * 8))
                let mask: UInt8 = take == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - take))
                if ip.bytes[i] & mask != address.bytes[i] & mask { matches = false; break }
            }
            if matches { return true }
        }
        return false
    }

    /// The client list attribute: comma-separated specs (blanks around
    /// them ignored), at least one, at most 64; or why not.
    static func parseClients(_ text: String) -> Result<[String], ClientError> {
        // Bytes and indices, not `split` + `reversed()`: the generic
        // ReversedCollection/Slice types cost every call first-use metadata
        // and conformance scans (~2 % of a level-1 monitor, perf).
        var specs: [String] = []
        let bytes = text.utf8
        var start = bytes.startIndex
        while true {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: ",")) ?? bytes.endIndex
            var low = start, high = end
            while low < high, bytes[low] == UInt8(ascii: " ") { low = bytes.index(after: low) }
            while low < high, bytes[bytes.index(before: high)] == UInt8(ascii: " ") { high = bytes.index(before: high) }
            specs.append(String(text[low..<high]))
            if end == bytes.endIndex { break }
            start = bytes.index(after: end)
        }
        guard specs.count <= 64 else { return .failure(ClientError(why: "more than 64 clients")) }
        for (i, spec) in specs.enumerated() {
            if let why = clientProblem(spec) { return .failure(ClientError(why: why)) }
            // Harmless to Ganesha, but a slip (two entries meant to differ); at most 64, so compared pairwise.
            if specs[..<i].contains(spec) { return .failure(ClientError(why: "'\(escaped(spec))' is given twice")) }
        }
        return .success(specs)
    }

    struct ClientError: Error { let why: String }
}
