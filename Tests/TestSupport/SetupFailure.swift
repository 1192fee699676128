/// A test's set-up could not be made (a product not built, a package not
/// installed, a `cdb define` that failed): the test FAILS with this line.
/// Never an XCTSkip: a skipped set-up would hide a regression in exactly
/// what it set up. Skips are kept for a kernel feature or an architecture
/// the machine lacks, and say which.
public struct SetupFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = "test set-up failed: " + description }
}
