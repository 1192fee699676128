// Standard output that fails loudly: `fshost cdb export > /dev/full` must
// not exit 0 with the configuration lost. Swift's `print` writes through
// C's buffered `stdout` and ignores write errors, so every command's output
// is checked once at exit (``StandardOutput/finish()``, like coreutils'
// close_stdout), and the export writes its text with ``write(_:)``, which
// reports the system's reason.
import CDB
import Management
#if canImport(Glibc)
// C's `stdout` is a global variable; it is used on the main thread only.
@preconcurrency import Glibc
#endif

enum StandardOutput {
    /// Writes `text` to standard output now (after what `print` buffered).
    ///
    /// - Throws: ``AdminError/failed(_:)`` (`HA_CMD_FAILED`, 3) naming the
    ///   reason, e.g. "No space left on device".
    static func write(_ text: String) throws(AdminError) {
        guard fflush(stdout) == 0 else { throw failure(errno) }
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(1, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure(errno)
            }
            offset += n
        }
        bytes.removeAll()
    }

    /// Flushes what `print` buffered and tells whether every write to
    /// standard output succeeded: nil if so, else the error line to print.
    static func finish() -> String? {
        if fflush(stdout) != 0 { return failure(errno).description }
        if ferror(stdout) != 0 { return "cannot write standard output (an earlier write failed)" }
        return nil
    }

    private static func failure(_ code: Int32) -> AdminError {
        .failed("cannot write standard output: \(String(cString: strerror(code)))")
    }
}
