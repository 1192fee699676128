#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PluginRecord

/// A plugin file that passed every check, still open: the descriptor the
/// checks read. Loading ``loadPath`` loads exactly this file (the same
/// inode), even if another file has been renamed over ``path`` since.
public struct VerifiedPluginFile: Sendable {
    /// The path as given to ``PluginVerifier/open(path:)``.
    public let path: String
    /// Where the opened file really is (the kernel's name for the
    /// descriptor; ends in ` (deleted)` once the file has been replaced).
    public let resolvedPath: String
    /// The read-only descriptor every check ran on (`O_CLOEXEC`).
    public let descriptor: Int32
    /// The record read from the file.
    public let record: PluginRecord

    /// `/proc/self/fd/N`: the name under which `dlopen` opens this very
    /// file. The loader identifies an object it already has by this name:
    /// keep the descriptor open as long as the object stays loaded, so the
    /// number (and the name) is never reused for another file.
    public var loadPath: String { procDescriptorPath(descriptor) }

    /// Closes the descriptor (after a refusal, or once nothing will load it).
    public func close() { closeDescriptor(descriptor) }
}

private func closeDescriptor(_ fd: Int32) { _ = close(fd) }

/// Linux's `O_PATH` (asm-generic value, the same on x86-64 and arm64): Glibc's
/// Swift module leaves it out (it is behind `_GNU_SOURCE`).
let openPathOnly: Int32 = 0o10000000

/// `open(2)` without a mode, callable where a method named `open` shadows it.
func openDescriptor(_ path: String, _ flags: Int32) -> Int32 { open(path, flags) }

/// `/proc/self/fd/N`.
func procDescriptorPath(_ fd: Int32) -> String { "/proc/self/fd/" + String(fd) }

/// Where the file behind `fd` is (`readlink` of `/proc/self/fd/N`), or nil.
func descriptorPath(_ fd: Int32) -> String? {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink(procDescriptorPath(fd), &buffer, buffer.count - 1)
    guard n > 0 else { return nil }
    return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
