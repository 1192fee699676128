import Foundation

/// The names a new plugin target must not take because the fshost SDK's
/// package already uses them, read from its checkout at scaffold time (one
/// rule, one place; it follows the SDK as it grows):
/// - its targets: the directory names under `Sources/`, `Plugins/` and
///   `Tests/`, and every name its manifest declares (`name: "…"`, of a
///   target, product or the package, and `resourceType("…"`), which covers
///   a target kept elsewhere (`Tests/Plugins/Sleeper`);
/// - its products: a plugin's product is its target name in lower case;
/// - its dependencies: each `.package(url:)` in `Package.swift` by its last
///   path component (the package's name, e.g. `TOMLKit`,
///   `swift-argument-parser`), and, once resolved, the targets under each
///   `.build/checkouts/<package>/Sources/` (e.g. `ArgumentParser`).
///
/// Compared without case: a target and a product, or two modules on a
/// case-insensitive file system, clash even so.
struct SDKNames {
    /// The checkout's root (absolute).
    let checkout: String

    /// What `name` collides with (`"the target Plugins/Sleeper"`), or nil.
    func clash(with name: String) -> String? {
        let key = name.lowercased()
        for folder in ["Sources", "Plugins", "Tests"] {
            if let hit = subdirectories(of: checkout + "/" + folder).first(where: { $0.lowercased() == key }) {
                return "the target \(folder)/\(hit)"
            }
        }
        if let hit = declaredNames().first(where: { $0.lowercased() == key }) {
            return "the name \(hit) its Package.swift declares"
        }
        for package in dependencies() {
            if package.lowercased() == key { return "the package dependency \(package)" }
            let sources = checkout + "/.build/checkouts/" + package + "/Sources"
            if let hit = subdirectories(of: sources).first(where: { $0.lowercased() == key }) {
                return "the target \(hit) of its dependency \(package)"
            }
        }
        return nil
    }

    /// Every `name: "…"` and `resourceType("…"` of the manifest.
    func declaredNames() -> [String] {
        guard let manifest = try? String(contentsOfFile: checkout + "/Package.swift", encoding: .utf8) else { return [] }
        return ["name: \"", "resourceType(\""].flatMap { opener in
            manifest.components(separatedBy: opener).dropFirst().compactMap { rest in
                rest.split(separator: "\"", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
            }
        }
    }

    /// The last path component of each `.package(url: "…")` in the manifest.
    func dependencies() -> [String] {
        guard let manifest = try? String(contentsOfFile: checkout + "/Package.swift", encoding: .utf8) else { return [] }
        return manifest.components(separatedBy: ".package(url:").dropFirst().compactMap { rest in
            let quoted = rest.split(separator: "\"", maxSplits: 2, omittingEmptySubsequences: false)
            guard quoted.count >= 2 else { return nil }
            var url = String(quoted[1])
            if url.hasSuffix(".git") { url.removeLast(4) }
            return url.split(separator: "/").last.map(String.init)
        }
    }

    private func subdirectories(of path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path + "/" + $0, isDirectory: &isDirectory) && isDirectory.boolValue
        }
    }
}
