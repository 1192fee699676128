import HAVocabulary

/// The plugin record: the few facts the host reads from a plugin file
/// *before* loading it (ELF section `.fshost_plugin`, layout
/// `fshost_plugin_record` in `fshost_plugin.h`).
///
/// Swift's `@section` accepts literals only, so the record of each plugin is
/// generated at build time by `FSPluginRecordGen` (run by the SDK's
/// build-tool plugin); the host decodes it with ``PluginRecord/init(bytes:)``.
public struct PluginRecord: Equatable, Sendable {
    /// "FSHP" as a little-endian `UInt32`.
    public static let magic: UInt32 = 0x5048_5346
    /// Version of this layout.
    public static let recordVersion: UInt16 = 1
    /// Bytes of the first record layout: the least a record has.
    public static let size = 48
    /// Bytes of the record with the appended `signature` field (what the
    /// build writes now; a 48-byte record has no signature).
    public static let extendedSize = 112
    /// Capacity of the type name field, NUL included.
    public static let typeNameCapacity = 32
    /// Capacity of the signature field, NUL included.
    public static let signatureCapacity = 64

    /// `FSHOST_RECORD_FLAG_COMPANION`: a companion object, not a resource type.
    public static let companionFlag: UInt32 = 1 << 0
    /// `FSHOST_RECORD_FLAG_TEST_ONLY`: left out of `fshost list` and `make install`.
    public static let testOnlyFlag: UInt32 = 1 << 1

    public var abiVersion: UInt16
    public var compilerVersion: UInt32
    public var typeName: String
    /// `FSHOST_RECORD_FLAG_*` (0 in records written before the field existed).
    public var flags: UInt32
    /// A companion's call signature (`HTTPProbeCall@1f2e…`); for a plugin,
    /// the signatures of the companion calls it makes, separated by `,`;
    /// "" for none or a record without the field.
    public var signature: String

    /// A plugin's companion calls (``signature`` split at `,`).
    public var calls: [String] { isCompanion || signature.isEmpty ? [] : signature.split(separator: ",").map(String.init) }

    public init(abiVersion: UInt16, compilerVersion: UInt32, typeName: String, flags: UInt32 = 0,
                signature: String = "") {
        self.abiVersion = abiVersion
        self.compilerVersion = compilerVersion
        self.typeName = typeName
        self.flags = flags
        self.signature = signature
    }

    /// A companion object (`<type>-<name>.so`), loaded by its plugin.
    public var isCompanion: Bool { flags & Self.companionFlag != 0 }
    /// Built for the tests only.
    public var isTestOnly: Bool { flags & Self.testOnlyFlag != 0 }

    /// Whether a plugin target in `targetDirectory` is test-only: its path
    /// *relative to the package root* starts with `Tests/`. Decided on the
    /// relative path because the checkout itself may lie under any
    /// directory named `Tests` (`/home/me/Tests/fshost/Plugins/WebServer`
    /// is a real type). Both paths absolute; a target outside the root is
    /// not test-only.
    public static func isTestOnly(targetDirectory: String, packageRoot: String) -> Bool {
        func components(_ path: String) -> [Substring] { path.split(separator: "/").filter { $0 != "." } }
        let root = components(packageRoot), target = components(targetDirectory)
        guard target.count > root.count, Array(target.prefix(root.count)) == root else { return false }
        return target[root.count] == "Tests"
    }
    /// The symbol the file must export: a companion's call or a plugin's entry.
    public var entrySymbol: String { isCompanion ? "fshost_companion_call" : "fshost_plugin_entry" }

    /// Why a byte sequence is not a valid record.
    public enum DecodingError: Error, Equatable, CustomStringConvertible {
        case tooShort(Int)
        case badMagic(UInt32)
        case badRecordVersion(UInt16)
        case unterminatedName
        case unterminatedSignature

        public var description: String {
            switch self {
            case .tooShort(let n): return "record is \(n) bytes, expected \(PluginRecord.size)"
            case .badMagic(let m): return "record magic is 0x\(String(m, radix: 16)), expected 0x\(String(PluginRecord.magic, radix: 16))"
            case .badRecordVersion(let v): return "record layout version \(v), expected \(PluginRecord.recordVersion)"
            case .unterminatedName: return "type name in the record is not NUL-terminated"
            case .unterminatedSignature: return "companion signature in the record is not NUL-terminated"
            }
        }
    }

    /// Decodes a little-endian record (the section's bytes).
    public init(bytes: some Collection<UInt8>) throws(DecodingError) {
        let b = Array(bytes)
        guard b.count >= Self.size else { throw .tooShort(b.count) }
        func u32(_ o: Int) -> UInt32 { UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24 }
        func u16(_ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
        guard u32(0) == Self.magic else { throw .badMagic(u32(0)) }
        guard u16(4) == Self.recordVersion else { throw .badRecordVersion(u16(4)) }
        let nameBytes = b[16..<(16 + Self.typeNameCapacity)]
        guard let end = nameBytes.firstIndex(of: 0) else { throw .unterminatedName }
        var signature = ""
        if b.count >= Self.extendedSize {
            let field = b[Self.size..<Self.extendedSize]
            guard let stop = field.firstIndex(of: 0) else { throw .unterminatedSignature }
            signature = String(decoding: b[Self.size..<stop], as: UTF8.self)
        }
        self.init(abiVersion: u16(6), compilerVersion: u32(8),
                  typeName: String(decoding: b[16..<end], as: UTF8.self), flags: u32(12), signature: signature)
    }

    /// Encodes the record as little-endian bytes.
    public var bytes: [UInt8] {
        var b: [UInt8] = []
        func put32(_ v: UInt32) { for i in 0..<4 { b.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
        func put16(_ v: UInt16) { for i in 0..<2 { b.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
        put32(Self.magic); put16(Self.recordVersion); put16(abiVersion)
        put32(compilerVersion); put32(flags)
        let name = Array(typeName.utf8.prefix(Self.typeNameCapacity - 1))
        b += name + Array(repeating: 0, count: Self.typeNameCapacity - name.count)
        let sig = Array(signature.utf8.prefix(Self.signatureCapacity - 1))
        b += sig + Array(repeating: 0, count: Self.signatureCapacity - sig.count)
        return b
    }

    /// Swift source declaring this record in its section: the only form
    /// `@section` accepts (a tuple of literals).
    public var swiftDeclaration: String {
        let all = bytes
        func tuple(_ range: Range<Int>) -> (type: String, value: String) {
            ("(" + Array(repeating: "UInt8", count: range.count).joined(separator: ", ") + ")",
             "(" + all[range].map { "0x" + String($0, radix: 16) }.joined(separator: ", ") + ")")
        }
        let name = tuple(16..<Self.size), sig = tuple(Self.size..<Self.extendedSize)
        return """
        // Generated by FSPluginRecordGen: the record fshost reads before loading this plugin.
        // Do not edit; it is rewritten on every build.
        @section(".fshost_plugin") @used
        let fshostPluginRecord: (UInt32, UInt16, UInt16, UInt32, UInt32,
            \(name.type),
            \(sig.type)) = (
            0x\(String(Self.magic, radix: 16)), \(Self.recordVersion), \(abiVersion), \(compilerVersion), \(flags),
            \(name.value),
            \(sig.value))

        """
    }

    /// A valid type name: 1–31 of `[a-z0-9_-]`, starting with a letter
    /// (the one rule, ``Names/isValidType(_:)``; it fits ``typeNameCapacity``).
    public static func isValidTypeName(_ name: String) -> Bool { Names.isValidType(name) }
}
