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
    var text: String {
        let protocols = versions.numbers.map(String.init).joined(separator: ", ")
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
            CLIENT {
                Clients = \(clients.joined(separator: ", "));
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
        for byte in path.utf8 where !isPathByte(byte) {
            return "holds '\(LogText.escaped(String(decoding: [byte], as: UTF8.self)))': only letters, digits and / . _ - + @ , : = ~ are allowed"
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if path != "/" && parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
            return "must be normalised (no '//', '.', '..' or trailing '/')"
        }
        return nil
    }

    static func isPathByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            || "/._-+@,:=~".utf8.contains(b)
    }

    /// One client spec: an IPv4 or IPv6 address, a network `ADDRESS/PREFIX`,
    /// `*`, a host name, a wildcard host name (`*.example.org`), or a
    /// netgroup `@name` — the forms ganesha-export-config(8) lists. nil when
    /// valid.
    static func clientProblem(_ spec: String) -> String? {
        if spec.isEmpty { return "an empty client" }
        if spec == "*" { return nil }
        if spec.hasPrefix("@") {
            return isHostName(String(spec.dropFirst()), wildcards: false) ? nil : "'\(LogText.escaped(spec))' is not a netgroup name"
        }
        if let slash = spec.firstIndex(of: "/") {
            let address = String(spec[..<slash]), prefix = String(spec[spec.index(after: slash)...])
            guard let ip = IPAddress(numeric: address), ip.scope == 0 else {
                return "'\(LogText.escaped(spec))': '\(LogText.escaped(address))' is not a numeric address"
            }
            let limit = ip.isIPv6 ? 128 : 32
            guard !prefix.isEmpty, prefix.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), prefix.count <= 3,
                  let bits = Int(prefix), bits <= limit else {
                return "'\(LogText.escaped(spec))': the prefix length must be 0-\(limit)"
            }
            return nil
        }
        if spec.contains(":") {
            guard let ip = IPAddress(numeric: spec), ip.isIPv6, ip.scope == 0 else { return "'\(LogText.escaped(spec))' is not an IPv6 address" }
            return nil
        }
        if spec.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E }) {
            return IPAddress(numeric: spec) == nil ? "'\(LogText.escaped(spec))' is not an IPv4 address" : nil
        }
        return isHostName(spec, wildcards: true) ? nil
            : "'\(LogText.escaped(spec))' is not an address, network, host name, wildcard or @netgroup"
    }

    /// Letters, digits, `-`, `.` (and `*`, `?` as wildcards), labels of
    /// 1-63 bytes, 253 in all.
    static func isHostName(_ name: String, wildcards: Bool) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.utf8.count <= 63, label.first != "-" else { return false }
            for b in label.utf8 {
                let ok = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D
                    || (wildcards && (b == 0x2A || b == 0x3F))
                if !ok { return false }
            }
        }
        return true
    }

    /// The client list attribute: comma-separated specs (blanks around
    /// them ignored), at least one, at most 64; or why not.
    static func parseClients(_ text: String) -> Result<[String], ClientError> {
        let specs = text.split(separator: ",", omittingEmptySubsequences: false).map {
            String($0.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
        }
        guard specs.count <= 64 else { return .failure(ClientError(why: "more than 64 clients")) }
        for spec in specs { if let why = clientProblem(spec) { return .failure(ClientError(why: why)) } }
        return .success(specs)
    }

    struct ClientError: Error { let why: String }
}
