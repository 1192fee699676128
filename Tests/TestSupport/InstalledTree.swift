import Foundation

extension HostSandbox {
    /// The repository the tests were built from: the products directory is
    /// `<repository>/.build/<triple>/debug`. A ``SetupFailure`` when it has
    /// no Makefile there.
    public static func repository() throws -> String {
        let path = products.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: path + "/Makefile") else {
            throw SetupFailure("no Makefile in \(path)")
        }
        return path
    }

    /// `make install-files` of the built products into `prefix` (what
    /// `make install` lays out: bin, the plugins, the FailSafe and OCF
    /// layouts), then this sandbox's runs use the installed tree's own
    /// plugins and the system's `OCF_ROOT`. A ``SetupFailure`` when the
    /// install fails.
    public func installTree(into prefix: String) throws {
        let r = try ELFFixtures.run("/usr/bin/make", ["-s", "-C", try Self.repository(), "install-files",
                                                      "BIN=" + Self.products.path, "PREFIX=" + prefix])
        guard r.status == 0 else { throw SetupFailure("make install-files: \(r.output)") }
        extraEnvironment["FSHOST_PLUGIN_PATH"] = ""
        extraEnvironment["OCF_ROOT"] = "/usr/lib/ocf"
    }
}
