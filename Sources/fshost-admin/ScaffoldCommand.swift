import ArgumentParser
import Foundation
import HAVocabulary
import PluginLoading
import PluginRecord

/// `fshost scaffold NAME`: a new resource type. In tree (the default), a copy
/// of the template plugin in `<directory>/NAME/` (the same file that is built
/// and tested as `template`); with `--package DIR`, a standalone Swift
/// package in DIR that depends on the fshost SDK (``PackageTemplate``).
///
/// Refusals, one line each, nothing created: a name that is not a CamelCase
/// identifier, names a toolchain module or one the SDK package uses
/// (``SDKNames``), or whose type is installed already, and a destination that
/// exists and is not empty: `HA_INVAL_ARGS` (2); no template or SDK checkout
/// found: `HA_NOCFGINFO` (6); a directory that cannot be written or whose
/// parent fails ``PathTrust``: `HA_CMD_FAILED` (3). Files are written into a temporary directory
/// beside the destination, renamed into place at the end (``ScaffoldDirectory``).
struct ScaffoldCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaffold",
        abstract: "Create a new resource-type plugin: in this tree, or a standalone package (--package DIR).",
        discussion: """
        In tree: writes <directory>/<Name>/<Name>.swift, a copy of the template plugin with the \
        type renamed, and prints the Package.swift line that builds it. With --package DIR: a \
        Swift package in DIR (Package.swift depending on the fshost SDK by path, the type with \
        one monitoring level, an attribute and every action stubbed, a test, a Makefile that \
        installs the plugin, a README); it builds and passes `fshost verify` as written. The type \
        name is the target name in lower case. Refuses an invalid name, an installed type's \
        name, a name the SDK package uses, an existing non-empty destination or '.' (2), an \
        unwritable directory or a parent another user can write (3); nothing is half-created.
        """)

    @Argument(help: "The plugin's target name, e.g. MailServer (type name: mailserver).")
    var name: String

    @Option(help: "In tree: where to create the plugin's directory.")
    var directory: String = "Plugins"

    @Option(help: "The template source (default: FSHOST_TEMPLATE, the installed copy, or the source tree).")
    var template: String?

    @Option(name: .customLong("package"),
            help: "Create a standalone package in this directory (absent or empty) instead of a plugin in this tree.")
    var packageDirectory: String?

    @Option(help: "With --package: the fshost checkout the package depends on (default: the tree this fshost was built from).")
    var sdk: String?

    /// Module names of the toolchain a target must not take (the SDK's own
    /// come from its checkout: ``SDKNames``).
    static let toolchainNames: Set<String> = ["Foundation", "FoundationEssentials", "XCTest", "Testing", "Swift", "Glibc", "Dispatch"]

    func run() throws {
        do throws(HostError) {
            let typeName = try checkedTypeName()
            if let packageDirectory {
                try scaffoldPackage(in: packageDirectory, typeName: typeName)
            } else {
                try scaffoldInTree(typeName: typeName)
            }
        } catch {
            throw fail(error)
        }
    }

    /// The type name, or the refusal of `name`.
    private func checkedTypeName() throws(HostError) -> String {
        let typeName = name.lowercased()
        guard let first = name.unicodeScalars.first, ("A"..."Z").contains(first),
              name.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) }),
              PluginRecord.isValidTypeName(typeName) else {
            throw HostError(.invalidArguments, "'\(name)' is not a plugin name: use CamelCase ASCII letters and digits, starting upper case (type name: its lower case)")
        }
        guard !Self.toolchainNames.contains(name) else {
            throw HostError(.invalidArguments, "'\(name)' is the name of a module of the toolchain; choose another")
        }
        if let installed = PluginSearchPath.fromEnvironment().locate(type: typeName) {
            throw HostError(.invalidArguments, "type '\(typeName)' exists: \(installed.path); choose another name")
        }
        // The SDK's targets, products and dependencies share the package
        // graph (and the build directory) with the new one: read from the
        // checkout, so the rule follows the SDK as it grows.
        let checkout = packageDirectory == nil ? try? sdkCheckout() : try sdkCheckout()
        if let checkout, let clash = SDKNames(checkout: checkout).clash(with: name) {
            throw HostError(.invalidArguments, "'\(name)' collides with \(clash) of the fshost SDK (\(checkout)); choose another")
        }
        return typeName
    }

    private func scaffoldInTree(typeName: String) throws(HostError) {
        guard let source = templateSource() else {
            throw HostError(.noConfigInfo, "template plugin source not found; pass --template PATH or set FSHOST_TEMPLATE")
        }
        guard let original = try? String(contentsOfFile: source, encoding: .utf8) else {
            throw HostError(.noConfigInfo, "cannot read the template \(source)")
        }
        let text = original.replacingOccurrences(of: "Template", with: name)
            .replacingOccurrences(of: "\"template\"", with: "\"\(typeName)\"")
        let target = directory + "/" + name
        try ScaffoldDirectory(destination: target).create([(name + ".swift", text)])
        print("""
        created \(target)/\(name).swift (type '\(typeName)', copied from \(source))
        Add one line to the `plugins` list in Package.swift (the product, the ELF record and
        the entry point are derived from it):
          resourceType("\(name)", path: "\(target)"),
        then: swift build && fshost check .build/debug/lib\(typeName).so
        """)
    }

    private func scaffoldPackage(in destination: String, typeName: String) throws(HostError) {
        let checkout = try sdkCheckout()
        let types = "/usr/local/lib/fshost/resource_types"  // the package Makefile's default PREFIX
        let files = PackageTemplate(name: name, sdkPath: checkout).files
        try ScaffoldDirectory(destination: destination).create(files)
        print("""
        created the package \(destination) (type '\(typeName)', SDK: \(checkout))
          cd \(destination) && swift build && fshost check .build/debug/lib\(typeName).so
          make install PREFIX=/usr/local        # \(types)/\(typeName).so
          export FSHOST_PLUGIN_PATH=\(types)   # an fshost built in a checkout searches only its build tree
          fshost cdb define \(typeName) r1 && fshost verify \(typeName) r1
        """)
    }

    /// The fshost checkout a package depends on, absolute: `--sdk`, else the
    /// source tree this executable was built in (`.build/<triple>/<config>/`).
    private func sdkCheckout() throws(HostError) -> String {
        let candidate: String
        if let sdk {
            candidate = sdk
        } else if let exe = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent() {
            candidate = exe.appendingPathComponent("../../..").standardizedFileURL.path
        } else {
            throw HostError(.noConfigInfo, "no fshost checkout found for the SDK; pass --sdk PATH")
        }
        guard let resolved = realpath(candidate, nil) else {
            throw HostError(sdk == nil ? .noConfigInfo : .invalidArguments,
                            "\(candidate): \(String(cString: strerror(errno))); pass --sdk PATH of an fshost checkout")
        }
        let path = String(cString: resolved)
        free(resolved)
        guard FileManager.default.fileExists(atPath: path + "/Package.swift"),
              FileManager.default.fileExists(atPath: path + "/Sources/FSKit") else {
            throw HostError(sdk == nil ? .noConfigInfo : .invalidArguments,
                            "\(path) is not an fshost checkout (no Package.swift with Sources/FSKit); pass --sdk PATH")
        }
        return path
    }

    private func templateSource() -> String? {
        if let template { return template }
        let exe = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent()
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["FSHOST_TEMPLATE"] { candidates.append(env) }
        if let exe {
            // installed: <prefix>/libexec/fshost/fshost-admin → <prefix>/share/fshost
            candidates.append(exe.appendingPathComponent("../../share/fshost/Template.swift").path)
            // build tree: .build/<triple>/<config>/fshost-admin → source root
            candidates.append(exe.appendingPathComponent("../../../Plugins/Template/Template.swift").path)
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }
}
