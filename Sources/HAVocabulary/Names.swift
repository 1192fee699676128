/// The naming rules of fshost, shared by the CDB, the command line, the
/// plugin record (its type name) and the SDK. Resource names become lock-file and state
/// directory names, so they are kept to a portable file-name alphabet.
public enum Names {
    /// `[a-z][a-z0-9_-]{0,30}`: the name a plugin's ELF record can carry.
    public static func isValidType(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLower(first), name.utf8.count <= 31 else { return false }
        return name.utf8.allSatisfy { isLower($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// `[A-Za-z0-9_.-]{1,64}`, and not `.` or `..` (they would name a
    /// directory, not a lock file).
    public static func isValidResource(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count), name != ".", name != ".." else { return false }
        return bytes.allSatisfy(isFileNameByte)
    }

    /// `[A-Za-z_][A-Za-z0-9_.-]{0,63}`: what a plugin may call an attribute.
    public static func isValidAttribute(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count), isLetter(bytes[0]) || bytes[0] == UInt8(ascii: "_") else { return false }
        return bytes.allSatisfy(isFileNameByte)
    }

    /// The rule a `what` (`"type"`, `"resource"`, `"attribute"`) name
    /// breaks, for the one-line message.
    public static func rule(_ what: String) -> String {
        switch what {
        case "type": return "use 1-31 characters of a-z 0-9 _ -, starting with a letter"
        case "resource": return "use 1-64 characters of A-Z a-z 0-9 _ . - (not . or ..)"
        default: return "use 1-64 characters of A-Z a-z 0-9 _ . -, starting with a letter or _"
        }
    }

    /// `name` with control characters escaped, so a message stays one line.
    public static func printable(_ name: String) -> String {
        var out = ""
        for s in name.unicodeScalars {
            if s.value < 0x20 || s.value == 0x7f {
                out += "\\u{" + String(s.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(s)
            }
        }
        return out
    }

    private static func isLower(_ b: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) }
    private static func isDigit(_ b: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) }
    private static func isLetter(_ b: UInt8) -> Bool {
        isLower(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
    }
    private static func isFileNameByte(_ b: UInt8) -> Bool {
        isLetter(b) || isDigit(b) || b == UInt8(ascii: "_") || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
    }
}
