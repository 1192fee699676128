// webserver-http: the companion object of the webserver plugin. It holds
// the one thing that needs libcurl — level 3's GET of the home page — so
// that libcurl and its ~33 libraries load only when level 3 runs, not on
// every level-1 or level-2 call (load cost is paid per call).
//
// It serves one typed call, HTTPProbeCall (HTTPProbeCall/HTTPProbeCall.swift).
// The build generates its C export and its record (companion, with the
// call's signature); the host finds it as webserver-http.so beside
// webserver.so, verifies it like a plugin and checks the signature before
// loading it, once per process.
import CCurl
import HTTPProbeCall
#if canImport(Glibc)
import Glibc
#endif

nonisolated(unsafe) private var initialized = false

/// GET `request.url` and report the status code; the body is not read (the
/// transfer stops at its first bytes).
func serve(_ request: HTTPProbeCall.Request) -> HTTPProbeCall.Response {
    if !initialized {
        guard curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK else { return .failed("curl_global_init failed") }
        initialized = true
    }
    guard let curl = curl_easy_init() else { return .failed("curl_easy_init failed") }
    defer { curl_easy_cleanup(curl) }

    var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    var resolveList: UnsafeMutablePointer<curl_slist>?
    defer { if let resolveList { curl_slist_free_all(resolveList) } }
    if let resolve = request.resolve {
        resolveList = curl_slist_append(nil, resolve)
        guard resolveList != nil else { return .failed("curl_slist_append failed") }
    }

    let result: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errors in
        var setup = CURLE_OK
        func set(_ code: CURLcode) { if setup == CURLE_OK { setup = code } }
        set(ccurl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, errors.baseAddress))
        set(ccurl_setopt_string(curl, CURLOPT_URL, request.url))
        set(ccurl_setopt_string(curl, CURLOPT_PROTOCOLS_STR, "http,https"))
        set(ccurl_setopt_string(curl, CURLOPT_NOPROXY, "*"))
        set(ccurl_setopt_long(curl, CURLOPT_NOSIGNAL, 1))
        set(ccurl_setopt_long(curl, CURLOPT_FOLLOWLOCATION, 0))
        set(ccurl_setopt_long(curl, CURLOPT_HTTPGET, 1))
        set(ccurl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(milliseconds(request.connectTimeout)))))
        set(ccurl_setopt_long(curl, CURLOPT_TIMEOUT_MS, max(1, Int(milliseconds(request.totalTimeout)))))
        set(ccurl_setopt_string(curl, CURLOPT_USERAGENT, "fshost-webserver-monitor"))
        if let resolveList { set(ccurl_setopt_pointer(curl, CURLOPT_RESOLVE, UnsafeMutableRawPointer(resolveList))) }
        set(ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYPEER, request.verifyTLS ? 1 : 0))
        set(ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYHOST, request.verifyTLS ? 2 : 0))
        if let caFile = request.caFile { set(ccurl_setopt_string(curl, CURLOPT_CAINFO, caFile)) }
        // Ignore the body: stop at its first bytes (curl then ends with
        // CURLE_WRITE_ERROR, after the status line and headers were read).
        set(ccurl_setopt_write_function(curl) { _, _, _, _ in 0 })
        guard setup == CURLE_OK else { return setup }
        return curl_easy_perform(curl)
    }

    var code: Int = 0
    _ = ccurl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &code)
    if (result == CURLE_OK || result == CURLE_WRITE_ERROR) && code > 0 {
        return .answered(status: code)
    }
    let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let why = detail.isEmpty ? String(cString: curl_easy_strerror(result)) : detail
    switch result {
    case CURLE_OPERATION_TIMEDOUT: return .timedOut(why)
    case CURLE_COULDNT_CONNECT: return .couldNotConnect(why)
    case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM:
        return .tlsFailed(why)
    default: return .failed(why)
    }
}

/// Whole milliseconds of a timeout (curl takes milliseconds).
private func milliseconds(_ d: Duration) -> Int64 {
    let (seconds, attoseconds) = d.components
    return seconds * 1000 + attoseconds / 1_000_000_000_000_000
}
