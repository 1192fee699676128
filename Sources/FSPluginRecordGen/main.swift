// FSPluginRecordGen TYPE-NAME OUTPUT.swift
//
// Writes the `.fshost_plugin` record of one plugin as Swift source. Run by
// the FSPluginRecordPlugin build-tool plugin for every plugin target; the
// compiler version is this tool's own, and the tool is built by the compiler
// that builds the plugin.
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

let arguments = CommandLine.arguments
guard arguments.count == 3 else { fail("usage: FSPluginRecordGen TYPE-NAME OUTPUT.swift", status: 2) }
let typeName = arguments[1], output = arguments[2]
guard PluginRecord.isValidTypeName(typeName) else {
    fail("'\(typeName)' is not a valid type name (1-31 of a-z 0-9 _ -, starting with a letter)", status: 2)
}
let record = PluginRecord(abiVersion: UInt16(FSHOST_ABI_VERSION), compilerVersion: compilerVersion, typeName: typeName)
guard let file = fopen(output, "w") else { fail("cannot write \(output)", status: 1) }
let written = fputs(record.swiftDeclaration, file) >= 0
guard fclose(file) == 0, written else { fail("cannot write \(output)", status: 1) }
