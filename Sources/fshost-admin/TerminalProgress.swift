// Progress of long admin work (`cdb import` of many resources, `verify`'s
// steps) for an operator at a terminal: one line on stderr, redrawn in
// place and erased when the work is done. Only when both stdout and stderr
// are terminals: a script, a pipe, a log file or a test reading either
// stream gets no carriage returns or escape sequences mixed into it.
import CSystemShims
import Foundation
import HAVocabulary

final class TerminalProgress {
    /// Whether anything is drawn (both stdout and stderr are terminals).
    let enabled: Bool
    private var shown = false

    /// The line being drawn, if any: ``printError(_:)`` erases it first,
    /// so a message never lands after a half-drawn progress line.
    nonisolated(unsafe) private static weak var current: TerminalProgress?

    init(enabled: Bool = isatty(1) == 1 && isatty(2) == 1) {
        self.enabled = enabled
        if enabled { Self.current = self }
    }

    /// Erases the line being drawn, if any.
    static func clearCurrent() { current?.clear() }

    /// Replaces the line with `text` (control characters escaped, cut to
    /// 200 bytes so it stays one terminal line on a wide screen).
    func show(_ text: String) {
        guard enabled else { return }
        shown = true
        write("\r\u{1B}[K" + LogText.clean(text, limit: 200))
    }

    /// `what i/n`, as `show`.
    func count(_ what: String, _ done: Int, of total: Int) {
        show("\(what) \(done)/\(total)")
    }

    /// Erases the line, so the next output starts on a clean line.
    func clear() {
        guard enabled, shown else { return }
        shown = false
        write("\r\u{1B}[K")
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
