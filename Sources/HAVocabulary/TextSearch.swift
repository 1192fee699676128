/// Substring search in plain standard-library Swift, for the action path
/// and the plugins: `contains(_:)` with a string argument, `firstRange(of:)`
/// and `split(separator:)` with a string separator come from
/// `_StringProcessing`, and a file that uses one symbol of it keeps
/// `libswift_StringProcessing.so` (and `libswift_RegexParser.so`) among
/// the libraries every call loads (`make install-files` drops the unused
/// ones; docs/ARCHITECTURE.md §7). Same answers as `firstRange(of:)` and
/// `split(separator:)`: `Character`s are compared (canonical equivalence),
/// left to right, occurrences not overlapping. (`contains(_:)` differs only
/// for a needle that starts with a combining mark, which it also finds
/// inside a character: only a secret or message starting with one could
/// be such a needle.)
extension StringProtocol {
    /// The range of the first occurrence of `needle` in this text, nil when
    /// there is none; an empty `needle` is found at `startIndex` (as
    /// `firstRange(of:)` does). O(count × needle.count).
    public func firstRange(ofText needle: some StringProtocol) -> Range<Index>? {
        guard !needle.isEmpty else { return startIndex..<startIndex }
        var i = startIndex
        while i < endIndex {
            let rest = self[i...]
            if rest.starts(with: needle) { return i..<rest.index(i, offsetBy: needle.count) }
            i = index(after: i)
        }
        return nil
    }

    /// Whether `needle` occurs in this text; false for an empty `needle`
    /// (as `contains(_:)` answers, though `firstRange(of:)` finds it).
    public func containsText(_ needle: some StringProtocol) -> Bool {
        !needle.isEmpty && firstRange(ofText: needle) != nil
    }

    /// This text with every occurrence of `target`, left to right and not
    /// overlapping, replaced by `replacement`; unchanged when `target` is empty.
    public func replacingText(_ target: some StringProtocol, with replacement: some StringProtocol) -> String {
        guard !target.isEmpty else { return String(self) }
        var out = "", rest = self[...]
        while let range = rest.firstRange(ofText: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        out += rest
        return out
    }
}
