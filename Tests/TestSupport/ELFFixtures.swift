// Helpers for tests that build or patch ELF files: the products directory,
// temporary directories, running a C compiler, patching bytes.
import Foundation

/// Test helpers for ELF fixtures (namespace; see ELFCheckTests).
public enum ELFFixtures {
    /// The build products directory: the directory of the running test
    /// executable (`.build-x/debug/fshostPackageTests.xctest` on Linux).
    public static var productsDirectory: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return (executable as NSString).deletingLastPathComponent
    }

    /// A built product (e.g. `libtemplate.so`), or nil when it is not there.
    public static func product(_ name: String) -> String? {
        let path = productsDirectory + "/" + name
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// A new empty directory (mode 0755) under the system temporary directory.
    public static func makeTemporaryDirectory(prefix: String = "elfcheck") throws -> String {
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw FixtureError("mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        let path = String(cString: made)
        try setMode(path, 0o755)
        return path
    }

    /// Removes a directory tree (errors ignored).
    public static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// `chmod`.
    public static func setMode(_ path: String, _ mode: mode_t) throws {
        guard chmod(path, mode) == 0 else { throw FixtureError("chmod \(path): \(String(cString: strerror(errno)))") }
    }

    /// Copies a file and sets its mode.
    public static func copy(_ source: String, to destination: String, mode: mode_t = 0o755) throws {
        try? FileManager.default.removeItem(atPath: destination)
        try FileManager.default.copyItem(atPath: source, toPath: destination)
        try setMode(destination, mode)
    }

    /// Writes bytes to a file and sets its mode.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o755) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw FixtureError("cannot write \(path)")
        }
        try setMode(path, mode)
    }

    /// The bytes of a file.
    public static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw FixtureError("cannot read \(path)") }
        return [UInt8](data)
    }

    /// Every offset at which `needle` occurs in `haystack`.
    public static func offsets(of needle: [UInt8], in haystack: [UInt8]) -> [Int] {
        guard !needle.isEmpty, haystack.count >= needle.count else { return [] }
        var found: [Int] = []
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if haystack[i..<(i + needle.count)].elementsEqual(needle) { found.append(i) }
        }
        return found
    }

    /// The first executable called one of `names` in PATH (e.g. `["cc", "gcc", "clang"]`).
    public static func findExecutable(_ names: [String]) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for name in names {
            for directory in path.split(separator: ":") {
                let candidate = "\(directory)/\(name)"
                if access(candidate, X_OK) == 0 { return candidate }
            }
        }
        return nil
    }

    /// The C compiler (`cc`, `gcc` or `clang`), or nil.
    public static var cCompiler: String? { findExecutable(["cc", "gcc", "clang"]) }

    /// Runs a program; returns its exit status and combined output.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    /// Compiles C `source` with `compiler` and `flags` into `output`; throws with
    /// the compiler's output on failure.
    public static func compileC(_ source: String, compiler: String, flags: [String], output: String,
                                in directory: String, name: String = "fixture") throws {
        let file = "\(directory)/\(name).c"
        try write(Array(source.utf8), to: file, mode: 0o644)
        let result = try run(compiler, flags + ["-o", output, file])
        guard result.status == 0 else {
            throw FixtureError("\(compiler) \((flags + ["-o", output, file]).joined(separator: " ")) failed: \(result.output)")
        }
    }

    /// Assembles/links an assembly `source` like ``compileC(_:compiler:flags:output:in:name:)``.
    public static func compileAssembly(_ source: String, compiler: String, flags: [String], output: String,
                                       in directory: String, name: String = "fixture") throws {
        let file = "\(directory)/\(name).s"
        try write(Array(source.utf8), to: file, mode: 0o644)
        let result = try run(compiler, flags + ["-o", output, file])
        guard result.status == 0 else {
            throw FixtureError("\(compiler) \((flags + ["-o", output, file]).joined(separator: " ")) failed: \(result.output)")
        }
    }

    /// `{0x46, 0x53, …}`: bytes as a C initializer.
    public static func cArray(_ bytes: [UInt8]) -> String {
        "{" + bytes.map { "0x" + String($0, radix: 16) }.joined(separator: ", ") + "}"
    }

    /// A fixture failure with its reason.
    public struct FixtureError: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }
}
