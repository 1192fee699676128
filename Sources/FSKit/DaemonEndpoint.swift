#if canImport(Glibc)
import Glibc
#endif

extension Daemon {
    /// Where a daemon answers, which no other process may hold before it
    /// starts: a TCP port on an address, or a Unix socket file
    /// (PostgreSQL's `<socket directory>/.s.PGSQL.<port>`, php-fpm).
    public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
        /// The kind of endpoint and where it is.
        public enum Place: Sendable, Equatable {
            case tcp(IPAddress, UInt16)
            /// An absolute socket path of at most ``UnixSocketProbe/pathCapacity`` bytes.
            case unixSocket(String)
        }
        /// Where the daemon answers.
        public var place: Place

        /// A TCP port on `address`.
        public init(_ address: IPAddress, _ port: UInt16) { place = .tcp(address, port) }
        /// A Unix socket file.
        public static func unixSocket(_ path: String) -> Endpoint { Endpoint(place: .unixSocket(path)) }
        init(place: Place) { self.place = place }

        /// "port 5432 on 127.0.0.1", "socket /run/postgresql/.s.PGSQL.5432"
        public var description: String {
            switch place {
            case .tcp(let address, let port): return "port \(port) on \(address)"
            case .unixSocket(let path): return "socket \(path)"
            }
        }

        /// Something accepts connections here now (a connect completes
        /// within `timeout`). A socket file nobody listens on (left by a
        /// crash) is not held: the server replaces it.
        public func isHeld(timeout: Duration) -> Bool {
            switch place {
            case .tcp(let address, let port): return TCPProbe.connect(to: address, port: port, timeout: timeout) == .connected
            case .unixSocket(let path): return UnixSocketProbe.connect(path: path, timeout: timeout) == .connected
            }
        }
    }
}
