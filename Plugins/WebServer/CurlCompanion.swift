import FSKit

/// Level 3 through libcurl, which lives in the companion object
/// `webserver-http.so` (see HTTPProbe/HTTPProbe.swift) so that levels 1-2
/// never pay its load cost (~33 libraries, ~4 ms, ~8 MiB per call).
enum CurlCompanion {
    /// `fshost_webserver_http_get`: `int32_t get(const char *url, const char
    /// *resolve, int64_t connect_timeout_ms, int64_t total_timeout_ms, int32_t
    /// verify_tls, const char *ca_file, int32_t *status_code, char *reason,
    /// size_t reason_capacity)`; 0 answered, 1 timed out, 2 could not
    /// connect, 3 TLS failed, 4 other.
    typealias Get = @convention(c) (
        UnsafePointer<CChar>?, UnsafePointer<CChar>?, Int64, Int64, Int32, UnsafePointer<CChar>?,
        UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<CChar>?, Int) -> Int32

    static let answered: Int32 = 0, timedOut: Int32 = 1

    /// Loaded once per process (monitor retries probe again).
    nonisolated(unsafe) static var loaded: Get?

    /// GET `url` (curl's RESOLVE maps `resolve` NAME:PORT:ADDRESS without DNS):
    /// the status code, or the failure as an outcome.
    static func get(_ resource: Resource, url: String, resolve: String?, connect: Duration, total: Duration,
                    verify: Bool, caFile: String?) -> Result<Int, OutcomeError> {
        if loaded == nil { loaded = resource.companion("http", symbol: "fshost_webserver_http_get", as: Get.self) }
        guard let get = loaded else {
            return .failure(OutcomeError(.failed(
                "level 3 needs the companion webserver-http.so beside the plugin (libcurl); it could not be loaded (see the log)")))
        }
        var code: Int32 = 0
        var reason = [CChar](repeating: 0, count: 256)
        let rc = url.withCString { u in
            withOptionalCString(resolve) { r in
                withOptionalCString(caFile) { ca in
                    get(u, r, connect.milliseconds, total.milliseconds, verify ? 1 : 0, ca, &code, &reason, reason.count)
                }
            }
        }
        let why = String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        switch rc {
        case answered: return .success(Int(code))
        case timedOut: return .failure(OutcomeError(.failed("GET \(url): no answer within \(total.milliseconds) ms (\(why))")))
        default: return .failure(OutcomeError(.failed("GET \(url): \(why)")))
        }
    }

    static func withOptionalCString<R>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
        guard let text else { return body(nil) }
        return text.withCString { body($0) }
    }
}

/// An outcome carried as an error (for `Result`).
struct OutcomeError: Error {
    let outcome: Outcome
    init(_ outcome: Outcome) { self.outcome = outcome }
}
