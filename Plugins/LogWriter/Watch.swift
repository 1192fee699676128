// What levels 2 and 3 remember between calls, kept as ONE state value
// (`watch`): the log's growth mark, the read position and when
// expected_message was last seen. One value is one atomic state write (a
// temporary file, fsync, rename): a level-3 monitor fsyncs once, where
// three keys cost three (measured: an fsync on the bench VM's ext4 is
// 0.4 ms idle and 15-20 ms while other builds write; README "logwriter").
import FSKit

struct Watch: Equatable {
    /// Level 2: the log's facts when it last changed.
    var growth: LogGrowth.Mark?
    /// Level 3: where the next read starts.
    var position: LogPosition?
    /// Level 3: when expected_message was last seen (``LogGrowth/now()``, ms).
    var seen: Int64?

    /// `GROWTH|POSITION|SEEN`, each part its own text or `-` when absent.
    var text: String {
        [growth?.text ?? "-", position?.text ?? "-", seen.map(String.init) ?? "-"].joined(separator: "|")
    }

    /// The parts of `text` that parse; each part that does not is named in
    /// `corrupted` (it starts again, with a warning), never a crash.
    static func parse(_ text: String?) -> (watch: Watch, corrupted: [String]) {
        guard let text else { return (Watch(), []) }
        let parts = text.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else { return (Watch(), ["growth", "position", "expected_seen"]) }
        var watch = Watch(), corrupted: [String] = []
        if parts[0] != "-" {
            watch.growth = LogGrowth.Mark(text: parts[0])
            if watch.growth == nil { corrupted.append("growth") }
        }
        if parts[1] != "-" {
            watch.position = LogPosition(text: parts[1])
            if watch.position == nil { corrupted.append("position") }
        }
        if parts[2] != "-" {
            watch.seen = Int64(parts[2])
            if watch.seen == nil { corrupted.append("expected_seen") }
        }
        return (watch, corrupted)
    }
}
