// What an nft ruleset file touches: its top-level commands, read without
// the kernel, so that a file naming any table but the resource's own is
// refused before libnftables sees it.

/// The rule: every top-level command of the file must be one of nft's
/// "add"-like or "delete"-like commands on an object of the resource's own
/// table (`table F T { … }`, `add rule F T …`, `flush chain F T …`,
/// `delete set F T …`, the bare forms `chain F T …` that nft reads as
/// `add`, per nft(8) "COMMANDS" and its grammar's `base_cmd`), or a
/// variable (`define`, `redefine`, `undefine`). Refused, naming the line:
/// - another table or family (the family defaults to `ip`, as in nft(8));
/// - a table given by a variable (`table inet $t`): not checkable here;
/// - `flush ruleset`, `list`, `reset`, `monitor`, `import`, `export`, or
///   anything else that is not a change of one table's objects;
/// - `include`: what an included file touches cannot be checked here;
/// - `flags owner` (a table its creator's netlink socket owns, deleted
///   when that socket closes): libnftables refuses it from a file with
///   "Operation not supported" and no line (1.0.6), and a table that went
///   with the action's process could never stay loaded anyway.
///
/// The scan follows nft's lexical rules (its scanner.l): `#` comments to
/// the end of the line, `"…"` strings without escapes that may span lines,
/// `{ … }` blocks (their content is the named table's own), and a command
/// ends at a newline or `;` outside a block (a `\` before the newline
/// continues it). Where the scan could disagree with nft it errs towards
/// refusing.
enum RulesetScope {
    static let families: Set<String> = ["ip", "ip6", "inet", "arp", "bridge", "netdev"]
    static let verbs: Set<String> = ["add", "create", "insert", "replace", "delete", "destroy", "flush"]
    static let objects: Set<String> = [
        "table", "chain", "rule", "set", "map", "element", "flowtable", "counter", "quota", "limit", "secmark",
        "synproxy", "ct",
    ]

    /// One top-level command: its words outside blocks, and its first line.
    struct Command {
        var words: [String] = []
        var line: Int
        /// The line of a `flags … owner …` statement, at any depth.
        var ownerFlagLine: Int?
    }

    /// Why `text` touches something other than table `family` `table`, as
    /// "line N: …", or never names that table at all; nil when every
    /// command stays in it and at least one names it.
    ///
    /// A file that names no table (empty, comments only, only `;` or
    /// `define`s: a truncated or wrongly copied file) is refused rather
    /// than loaded as an empty table: that would switch the firewall off
    /// and answer success (fail-open).
    static func problem(in text: String, family: String, table: String) -> String? {
        var namesTable = false
        for command in commands(in: text) {
            if let why = problem(command.words, family: family, table: table) { return "line \(command.line): \(why)" }
            if let line = command.ownerFlagLine {
                return "line \(line): 'flags owner' is not allowed: such a table is deleted when the process that loaded it exits (libnftables refuses it from a file: Operation not supported)"
            }
            if let first = command.words.first, !["define", "redefine", "undefine"].contains(first) { namesTable = true }
        }
        if !namesTable {
            return "never names table \(family) \(table) (empty, comments or definitions only): refused, it would load an empty table and turn the firewall off"
        }
        return nil
    }

    static func problem(_ w: [String], family: String, table: String) -> String? {
        let own = "table \(family) \(table)"
        guard let first = w.first else { return nil }
        if ["define", "redefine", "undefine"].contains(first) { return nil }
        if first == "include" { return "'include' is not allowed: what an included file touches cannot be checked (put the rules in the file)" }
        var i = 0
        if verbs.contains(first) { i = 1 }
        guard i < w.count, objects.contains(w[i]) else {
            let what = w.prefix(i + 2).joined(separator: " ")
            return "'\(what)' is not a change of \(own)'s objects: only that table may be touched"
        }
        i += 1
        if w[i - 1] == "ct" {  // ct helper|timeout|expectation [family] table name
            guard i < w.count, ["helper", "timeout", "expectation"].contains(w[i]) else {
                return "'ct' must name a helper, timeout or expectation of \(own)"
            }
            i += 1
        }
        var named = "ip"  // nft(8): the family defaults to ip
        if i < w.count, families.contains(w[i]) { named = w[i]; i += 1 }
        guard i < w.count else { return "'\(w.joined(separator: " "))' names no table: only \(own) may be touched" }
        var name = w[i]
        if name.count >= 2, name.hasPrefix("\""), name.hasSuffix("\"") { name = String(name.dropFirst().dropLast()) }
        if name.hasPrefix("$") { return "table name \(name) is a variable: write \(own) literally" }
        guard named == family, name == table else {
            return "touches table \(named) \(name), not the resource's own \(own)"
        }
        return nil
    }

    /// The file's top-level commands.
    static func commands(in text: String) -> [Command] {
        var out: [Command] = []
        var current = Command(line: 1)
        var word: [UInt8] = []
        var depth = 0, line = 1
        var inString = false, inComment = false
        // Inside a `flags` statement (to its `;`, newline or brace), at any
        // depth: its words are flag names, comma-separated.
        var inFlags = false
        func endWord() {
            if !word.isEmpty {
                if depth == 0 { current.words.append(String(decoding: word, as: UTF8.self)) }
                if inFlags, current.ownerFlagLine == nil, word.split(separator: UInt8(ascii: ",")).contains(where: { $0.elementsEqual("owner".utf8) }) {
                    current.ownerFlagLine = line
                }
                if word.elementsEqual("flags".utf8) { inFlags = true }
                word = []
            }
        }
        func endCommand() {
            endWord()
            if !current.words.isEmpty { out.append(current) }
            current = Command(line: line)
        }
        let bytes = Array(text.utf8)
        var k = 0
        while k < bytes.count {
            let c = bytes[k]
            defer { k += 1 }
            if inString {
                // nft's quoted string is `"[^"]*"`: no escapes (`"a\"` ends
                // at its second quote), and it may span lines.
                if depth == 0 { word.append(c) }
                if c == UInt8(ascii: "\"") { inString = false }
                if c == UInt8(ascii: "\n") { line += 1 }
                continue
            }
            if c == UInt8(ascii: "\n") {
                // A `\` ending a comment is part of the comment: the newline
                // still ends the command (as in nft).
                let continued = !inComment && k > 0 && bytes[k - 1] == UInt8(ascii: "\\")
                inComment = false
                if continued { line += 1; continue }
                if depth == 0 { endCommand() } else { endWord() }
                inFlags = false
                line += 1
                if current.words.isEmpty { current.line = line }
                continue
            }
            if inComment { continue }
            switch c {
            case UInt8(ascii: "#"): endWord(); inComment = true
            case UInt8(ascii: "\""): inString = true; if depth == 0 { word.append(c) }
            case UInt8(ascii: "{"): endWord(); inFlags = false; depth += 1
            case UInt8(ascii: "}"): endWord(); inFlags = false; depth = max(0, depth - 1)
            case UInt8(ascii: ";"): if depth == 0 { endCommand() } else { endWord() }; inFlags = false
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\\"): endWord()
            default: word.append(c)  // kept at depth 0 only (endWord), read for `flags` anywhere
            }
        }
        endCommand()
        return out
    }
}
