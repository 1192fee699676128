/// A failure of the host itself, with the status to exit with and a
/// one-line message naming the problem (the file, the key, the symbol).
public struct HostError: Error, CustomStringConvertible, Sendable {
    public let status: Int32
    public let message: String

    public init(_ status: ExitStatus, _ message: String) {
        self.status = status.rawValue
        self.message = message
    }

    public var exitStatus: ExitStatus { ExitStatus(rawValue: status) ?? .commandFailed }
    public var description: String { message }
}
