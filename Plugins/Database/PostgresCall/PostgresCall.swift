// The one call the database plugin makes into its companion
// database-libpq.so (libpq): declared once here, depended on by both. The
// build writes this file's hash into the call's signature and the
// companion's record; the host refuses a companion built from another
// version of this file before loading it.
import FSKit

/// Levels 2–4 of the database type through libpq: a ping (PQpingParams) or
/// one query, each bounded by `timeout` on the client side.
public enum PostgresCall: CompanionCall {
    public static let companionName = "libpq"

    /// Where and as whom to connect. Passed to libpq as keyword/value pairs
    /// (`PQconnectStartParams`, `expand_dbname` 0): no connection string is
    /// ever built, so no value can add a keyword, and nothing is spawned.
    public struct Connection: Sendable, Equatable {
        /// The socket directory (absolute) or a numeric address.
        public var host: String
        public var port: Int
        public var database: String
        public var user: String
        /// The password, in memory only (libpq's `password` keyword, what
        /// PGPASSWORD sets); never in an argv, an environment or a message.
        public var password: String?
        /// A libpq password file (mode 0600), used when `password` is nil.
        public var passfile: String?
        /// The OS user the server must run as (libpq's `requirepeer`: on a
        /// Unix socket, libpq checks the server's peer credentials,
        /// SO_PEERCRED, before it sends anything, a password included); nil: no check.
        public var requirePeer: String?

        public init(host: String, port: Int, database: String, user: String, password: String? = nil,
                    passfile: String? = nil, requirePeer: String? = nil) {
            self.requirePeer = requirePeer
            self.host = host
            self.port = port
            self.database = database
            self.user = user
            self.password = password
            self.passfile = passfile
        }
    }

    public enum Operation: Sendable, Equatable {
        /// `PQpingParams`: is the server accepting connections? (No
        /// password needed: a server that asks for one is up.)
        case ping
        /// Connect, run `sql` — one statement: the extended query protocol
        /// (`PQsendQueryParams`), where the server refuses several — in a
        /// read-only session (`default_transaction_read_only=on`) with the
        /// server's `statement_timeout` set to `statementTimeout`, both at
        /// connection time, and return the rows (at most 64, as text).
        case query(String, statementTimeout: Duration)
    }

    public struct Request: Sendable, Equatable {
        public var connection: Connection
        public var operation: Operation
        /// The whole call's limit (connect, send, wait): the companion
        /// answers ``Response/timedOut(_:)`` when it passes, whatever the
        /// server does (a SIGSTOPped server completes a Unix connect from
        /// its backlog and then says nothing).
        public var timeout: Duration

        public init(connection: Connection, operation: Operation, timeout: Duration) {
            self.connection = connection
            self.operation = operation
            self.timeout = timeout
        }
    }

    public enum Response: Sendable, Equatable {
        /// Ping: the server accepts connections.
        case accepting
        /// Ping: the server answered but refuses connections now (starting
        /// up, shutting down, in recovery without hot standby).
        case rejecting
        /// Ping: no answer (nothing listens, the socket is missing).
        case noResponse(String)
        /// Query: the rows of the last result, each column as text (nil: NULL).
        case rows([[String?]])
        /// Nothing (complete) within the timeout; the text names the phase.
        case timedOut(String)
        /// The connection failed before authentication completed.
        case connectFailed(String)
        /// The server refused the credentials (a wrong or missing password).
        case authenticationFailed(String)
        /// The query failed: its SQLSTATE (`42P01` undefined table, `57014`
        /// cancelled by statement_timeout) and the server's message.
        case queryFailed(sqlState: String, String)
    }
}
