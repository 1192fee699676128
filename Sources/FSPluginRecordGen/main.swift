// FSPluginRecordGen plugin TYPE-NAME SWIFT-TYPE OUTPUT.swift [--test-only] [--target-directory DIR --package-root DIR] [--call CALL-TYPE CALL-SOURCE…]…
// FSPluginRecordGen companion TYPE-NAME CALL-TYPE OUTPUT.swift CALL-SOURCE…
// FSPluginRecordGen call CALL-TYPE OUTPUT.swift CALL-SOURCE…
//
// Writes the Swift source the FSPluginRecordPlugin build-tool plugin adds
// to a target: a plugin's ELF record and entry point, a companion's record
// and C export, or a companion call's signature. The compiler version in a
// record is this tool's own; the tool is built by the compiler that builds
// the plugin.
import FSPluginABI
import PluginRecord
#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String, status: Int32) -> Never {
    var line = "FSPluginRecordGen: " + message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(status)
}

let usage = """
    usage: FSPluginRecordGen plugin TYPE-NAME SWIFT-TYPE OUTPUT.swift [--test-only] [--target-directory DIR --package-root DIR] [--call CALL-TYPE CALL-SOURCE...]...
           FSPluginRecordGen companion TYPE-NAME CALL-TYPE OUTPUT.swift CALL-SOURCE...
           FSPluginRecordGen call CALL-TYPE OUTPUT.swift CALL-SOURCE...
    """

func checkTypeName(_ name: String) {
    guard PluginRecord.isValidTypeName(name) else {
        fail("'\(name)' is not a valid type name (1-31 of a-z 0-9 _ -, starting with a letter)", status: 2)
    }
}

func checkSwiftName(_ name: String) {
    guard let first = name.unicodeScalars.first, first == "_" || first.properties.isAlphabetic,
          name.unicodeScalars.allSatisfy({ $0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }) else {
        fail("'\(name)' is not a Swift type name: name the target like its type", status: 2)
    }
}

func record(_ typeName: String, flags: UInt32 = 0, signature: String = "") -> String {
    PluginRecord(abiVersion: UInt16(FSHOST_ABI_VERSION), compilerVersion: compilerVersion, typeName: typeName,
                 flags: flags, signature: signature).swiftDeclaration
}

let arguments = Array(CommandLine.arguments.dropFirst())
let text: String
let output: String
switch arguments.first {
case "plugin" where arguments.count >= 4:
    let typeName = arguments[1], swiftType = arguments[2]
    output = arguments[3]
    checkTypeName(typeName)
    checkSwiftName(swiftType)
    var flags: UInt32 = 0
    var calls: [(name: String, sources: [String])] = []
    var targetDirectory: String?, packageRoot: String?
    var pending: String?
    for word in arguments[4...] {
        if let option = pending {
            if option == "--target-directory" { targetDirectory = word } else { packageRoot = word }
            pending = nil
        }
        else if word == "--test-only" { flags |= PluginRecord.testOnlyFlag }
        else if word == "--target-directory" || word == "--package-root" { pending = word }
        else if word == "--call" { calls.append(("", [])) }
        else if calls.isEmpty { fail(usage, status: 2) }
        else if calls[calls.count - 1].name.isEmpty { checkSwiftName(word); calls[calls.count - 1].name = word }
        else { calls[calls.count - 1].sources.append(word) }
    }
    if pending != nil { fail(usage, status: 2) }
    if let targetDirectory, let packageRoot,
       PluginRecord.isTestOnly(targetDirectory: targetDirectory, packageRoot: packageRoot) {
        flags |= PluginRecord.testOnlyFlag
    }
    // The calls this plugin makes, in its record: `fshost check` matches
    // the companions beside it against them before anything is loaded.
    let signatures = calls.map { CallSignature.of(call: $0.name, sources: $0.sources) }.joined(separator: ",")
    guard signatures.utf8.count < PluginRecord.signatureCapacity else {
        fail("the companion calls of \(typeName) do not fit its record (\(signatures.utf8.count) bytes): \(signatures)", status: 2)
    }
    text = "import FSKit\n\n" + record(typeName, flags: flags, signature: signatures) + """
        // The entry point: exports the ResourceType named like the target, under
        // the type name of the record above (so the two cannot disagree).
        @_cdecl("\(FSHOST_ENTRY_SYMBOL)")
        public func fshostPluginEntry() -> PluginEntry { PluginEntry(exporting: \(swiftType).self, typeName: "\(typeName)") }

        """
case "companion" where arguments.count >= 5:
    let typeName = arguments[1], call = arguments[2]
    output = arguments[3]
    checkTypeName(typeName)
    checkSwiftName(call)
    guard typeName.contains("-") else { fail("a companion's name is <type>-<name>: '\(typeName)'", status: 2) }
    let signature = CallSignature.of(call: call, sources: Array(arguments[4...]))
    text = "import FSKit\nimport \(call)\n\n" + record(typeName, flags: PluginRecord.companionFlag, signature: signature) + """
        // The companion's one export: serves \(call) (signature \(signature)),
        // with this target's `func serve(_ request: \(call).Request) -> \(call).Response`.
        @_cdecl("\(FSHOST_COMPANION_SYMBOL)")
        public func fshostCompanionCall(_ request: UnsafeRawPointer, _ response: UnsafeMutableRawPointer) {
            CompanionExport.serve(\(call).self, request, response, with: serve)
        }

        """
case "call" where arguments.count >= 4:
    let call = arguments[1]
    output = arguments[2]
    checkSwiftName(call)
    let signature = CallSignature.of(call: call, sources: Array(arguments[3...]))
    text = """
        // Generated by FSPluginRecordGen from this target's sources: the signature the
        // host compares with a companion's record before loading it. Do not edit.
        extension \(call) {
            public static var signature: String { "\(signature)" }
        }

        """
default:
    fail(usage, status: 2)
}
guard let file = fopen(output, "w") else { fail("cannot write \(output)", status: 1) }
let written = fputs(text, file) >= 0
guard fclose(file) == 0, written else { fail("cannot write \(output)", status: 1) }
