// webserver-http: the companion object of the webserver plugin. It holds
// the one thing that needs libcurl — level 3's GET of the home page — so
// that libcurl and its ~33 libraries load only when level 3 runs, not on
// every level-1 or level-2 call (DESIGN §8: load cost is paid per call).
//
// The host finds it as webserver-http.so beside webserver.so, verifies it
// with the plugin ELF checks (record type name "webserver-http"), and hands
// the plugin this one C function. C types only across the boundary.
import CCurl
#if canImport(Glibc)
import Glibc
#endif

/// Results of ``fshostWebserverHTTPGet``.
private let answered: Int32 = 0      // an HTTP answer: *status_code holds its status
private let timedOut: Int32 = 1      // no (complete) answer within the timeouts
private let couldNotConnect: Int32 = 2
private let tlsFailed: Int32 = 3
private let otherError: Int32 = 4

nonisolated(unsafe) private var initialized = false

/// GET `url` and report the status code; the body is not read (the
/// transfer stops at its first bytes).
///
/// ```c
/// int32_t fshost_webserver_http_get(const char *url, const char *resolve,
///     int64_t connect_timeout_ms, int64_t total_timeout_ms, int32_t verify_tls,
///     const char *ca_file, int32_t *status_code, char *reason, size_t reason_capacity);
/// ```
/// - `url`: `http(s)://HOST:PORT/PATH` with a numeric HOST, or a name that
///   `resolve` (`NAME:PORT:ADDRESS`, curl's `CURLOPT_RESOLVE` form) maps
///   to a numeric address: no DNS, no proxy (the environment's
///   `http_proxy` is ignored), no redirects followed, HTTP(S) only.
/// - Both timeouts are always set: against a stopped (SIGSTOP) server the
///   kernel still completes the handshake, so only the total timeout ends
///   the wait.
/// - `verify_tls`: check the peer certificate and host name (with
///   `ca_file`, or the system's CA bundle when NULL).
/// - Returns 0 with `*status_code` set when the server answered, 1 timed
///   out, 2 could not connect, 3 TLS failed, 4 any other error; `reason`
///   gets one line for anything but 0.
@_cdecl("fshost_webserver_http_get")
public func fshostWebserverHTTPGet(
    _ url: UnsafePointer<CChar>?, _ resolve: UnsafePointer<CChar>?,
    _ connectTimeoutMs: Int64, _ totalTimeoutMs: Int64, _ verifyTLS: Int32, _ caFile: UnsafePointer<CChar>?,
    _ statusCode: UnsafeMutablePointer<Int32>?, _ reason: UnsafeMutablePointer<CChar>?, _ reasonCapacity: Int
) -> Int32 {
    func say(_ text: String) {
        guard let reason, reasonCapacity > 0 else { return }
        let bytes = Array(text.utf8.prefix(reasonCapacity - 1))
        for (i, b) in bytes.enumerated() { reason[i] = CChar(bitPattern: b) }
        reason[bytes.count] = 0
    }
    statusCode?.pointee = 0
    say("")
    guard let url else { say("no URL"); return otherError }
    if !initialized {
        guard curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK else { say("curl_global_init failed"); return otherError }
        initialized = true
    }
    guard let curl = curl_easy_init() else { say("curl_easy_init failed"); return otherError }
    defer { curl_easy_cleanup(curl) }

    var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    var resolveList: UnsafeMutablePointer<curl_slist>?
    defer { if let resolveList { curl_slist_free_all(resolveList) } }
    if let resolve {
        resolveList = curl_slist_append(nil, resolve)
        guard resolveList != nil else { say("curl_slist_append failed"); return otherError }
    }

    let result: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errors in
        var setup = CURLE_OK
        func set(_ code: CURLcode) { if setup == CURLE_OK { setup = code } }
        set(ccurl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, errors.baseAddress))
        set(ccurl_setopt_string(curl, CURLOPT_URL, url))
        set(ccurl_setopt_string(curl, CURLOPT_PROTOCOLS_STR, "http,https"))
        set(ccurl_setopt_string(curl, CURLOPT_NOPROXY, "*"))
        set(ccurl_setopt_long(curl, CURLOPT_NOSIGNAL, 1))
        set(ccurl_setopt_long(curl, CURLOPT_FOLLOWLOCATION, 0))
        set(ccurl_setopt_long(curl, CURLOPT_HTTPGET, 1))
        set(ccurl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(connectTimeoutMs))))
        set(ccurl_setopt_long(curl, CURLOPT_TIMEOUT_MS, max(1, Int(totalTimeoutMs))))
        set(ccurl_setopt_string(curl, CURLOPT_USERAGENT, "fshost-webserver-monitor"))
        if let resolveList { set(ccurl_setopt_pointer(curl, CURLOPT_RESOLVE, UnsafeMutableRawPointer(resolveList))) }
        set(ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYPEER, verifyTLS != 0 ? 1 : 0))
        set(ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYHOST, verifyTLS != 0 ? 2 : 0))
        if let caFile { set(ccurl_setopt_string(curl, CURLOPT_CAINFO, caFile)) }
        // Ignore the body: stop at its first bytes (curl then ends with
        // CURLE_WRITE_ERROR, after the status line and headers were read).
        set(ccurl_setopt_write_function(curl) { _, _, _, _ in 0 })
        guard setup == CURLE_OK else { return setup }
        return curl_easy_perform(curl)
    }

    var code: Int = 0
    _ = ccurl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &code)
    if (result == CURLE_OK || result == CURLE_WRITE_ERROR) && code > 0 {
        statusCode?.pointee = Int32(clamping: code)
        return answered
    }
    let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let text = detail.isEmpty ? String(cString: curl_easy_strerror(result)) : detail
    say(text)
    switch result {
    case CURLE_OPERATION_TIMEDOUT: return timedOut
    case CURLE_COULDNT_CONNECT: return couldNotConnect
    case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM:
        return tlsFailed
    default: return otherError
    }
}
