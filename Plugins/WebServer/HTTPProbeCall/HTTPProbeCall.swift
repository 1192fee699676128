// The one call the webserver plugin makes into its companion
// webserver-http.so (libcurl): declared once here, depended on by both. The
// build writes this file's hash into the call's signature and the
// companion's record; the host refuses a companion built from another
// version of this file before loading it.
import FSKit

/// Level 3's GET through libcurl: the status code, the body ignored.
public enum HTTPProbeCall: CompanionCall {
    public static let companionName = "http"

    /// One GET.
    public struct Request: Sendable, Equatable {
        /// `http(s)://HOST:PORT/PATH` with a numeric HOST, or a name that
        /// `resolve` maps to a numeric address: no DNS, no proxy, no
        /// redirects followed, HTTP(S) only.
        public var url: String
        /// `NAME:PORT:ADDRESS` (curl's `CURLOPT_RESOLVE` form), or nil.
        public var resolve: String?
        /// Connect phase limit.
        public var connectTimeout: Duration
        /// Whole request limit: against a stopped (SIGSTOP) server the
        /// kernel still completes the handshake, so only this ends the wait.
        public var totalTimeout: Duration
        /// Check the peer certificate and host name.
        public var verifyTLS: Bool
        /// CA bundle to verify with; nil: the system's.
        public var caFile: String?

        public init(url: String, resolve: String? = nil, connectTimeout: Duration, totalTimeout: Duration,
                    verifyTLS: Bool = true, caFile: String? = nil) {
            self.url = url
            self.resolve = resolve
            self.connectTimeout = connectTimeout
            self.totalTimeout = totalTimeout
            self.verifyTLS = verifyTLS
            self.caFile = caFile
        }
    }

    /// How the GET ended; every failure carries curl's one-line reason.
    public enum Response: Sendable, Equatable {
        /// The server answered with this HTTP status code.
        case answered(status: Int)
        /// No (complete) answer within the timeouts.
        case timedOut(String)
        case couldNotConnect(String)
        case tlsFailed(String)
        case failed(String)
    }
}
