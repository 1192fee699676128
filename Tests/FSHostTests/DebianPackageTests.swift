import Foundation
import TestSupport
import XCTest

/// Issue 14, item 6: `make deb` packages the tree `make install` writes
/// (PREFIX=/usr) with dpkg-deb: the runtime inside, root's files, the
/// library packages it needs named in Depends, and the unpacked tree runs.
final class DebianPackageTests: XCTestCase {
    func testPackageHoldsTheInstalledTreeAndItsDependencies() throws {
        let sandbox = try HostSandbox()
        let deb = sandbox.path("fshost.deb")
        let make = try ELFFixtures.run("/usr/bin/make", ["-s", "-C", try HostSandbox.repository(), "deb-files",
                                                         "BIN=" + HostSandbox.products.path, "DEB=" + deb])
        XCTAssertEqual(make.status, 0, make.output)
        let info = try ELFFixtures.run("/usr/bin/dpkg-deb", ["--field", deb, "Package", "Version", "Depends"])
        XCTAssertEqual(info.status, 0, info.output)
        XCTAssertTrue(info.output.contains("Package: fshost") && info.output.contains("Version: 0.1.0"), info.output)
        // The plugins' libraries (webserver-http: libcurl) and what fshost loads on first use.
        for package in ["libc6", "libcurl4", "libelf1", "libsqlite3-0"] {
            XCTAssertTrue(info.output.contains(package), "Depends lacks \(package): \(info.output)")
        }
        let contents = try ELFFixtures.run("/usr/bin/dpkg-deb", ["--contents", deb])
        XCTAssertEqual(contents.status, 0, contents.output)
        for path in ["./usr/bin/fshost", "./usr/libexec/fshost/fshost-admin", "./usr/lib/fshost/swift/libswiftCore.so",
                     "./usr/lib/fshost/resource_types/template.so", "./usr/share/man/man1/fshost.1",
                     "./usr/share/bash-completion/completions/fshost", "./usr/share/doc/fshost/README.md"] {
            let line = contents.output.split(separator: "\n").first { $0.hasSuffix(" " + path) }
            XCTAssertNotNil(line, "\(path) not in the package")
            XCTAssertTrue(line?.contains("root/root") ?? false, "\(path) is not root's: \(line ?? "")")
        }
        let unpacked = sandbox.path("unpacked")
        let extract = try ELFFixtures.run("/usr/bin/dpkg-deb", ["-x", deb, unpacked])
        XCTAssertEqual(extract.status, 0, extract.output)
        let check = try sandbox.run(unpacked + "/usr/bin/fshost", ["check", unpacked + "/usr/lib/fshost/resource_types/template.so"])
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
    }
}
