// SCRAM-SHA-256 for the builtin level-3 client (RFC 5802, RFC 7677; the
// PostgreSQL 15 docs, "SASL Authentication"): the protocol here — nonce,
// messages, the iteration limit, the check of the server's signature — and
// the crypto (PBKDF2, HMAC, SHA-256) in the companion database-scram.so
// (libnettle, SCRAMCall), loaded only when a server asks for SCRAM.
import SCRAMCall
#if canImport(Glibc)
import Glibc
#endif

/// Base64 (RFC 4648, with padding), as SCRAM's messages carry it.
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            let chunk = UInt32(bytes[i]) << 16 | (n > 1 ? UInt32(bytes[i + 1]) << 8 : 0) | (n > 2 ? UInt32(bytes[i + 2]) : 0)
            for j in 0..<4 { out.append(j <= n ? alphabet[Int((chunk >> UInt32(18 - 6 * j)) & 63)] : UInt8(ascii: "=")) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: Substring) -> [UInt8]? {
        var out: [UInt8] = [], buffer: UInt32 = 0, bits = 0
        for c in text.utf8 {
            if c == UInt8(ascii: "=") { break }
            guard let v = alphabet.firstIndex(of: c) else { return nil }
            buffer = buffer << 6 | UInt32(v)
            bits += 6
            if bits >= 8 { bits -= 8; out.append(UInt8((buffer >> UInt32(bits)) & 0xff)) }
        }
        return out
    }
}

/// One SCRAM-SHA-256 exchange, client side, without channel binding
/// (`n,,`: a Unix socket has no TLS to bind to).
struct SCRAMClient {
    let password: [UInt8]
    let nonce: String
    var clientFirstBare: String { "n=,r=\(nonce)" }
    /// The most PBKDF2 iterations asked of the companion: it does not
    /// watch the deadline (libnettle on SHA-NI, measured here: 4096 — what
    /// PostgreSQL 15 asks — 0.46 ms, 100000 11–15 ms).
    static let maximumIterations = 100_000
    /// What the server's final message must carry (`v=`), once computed.
    private(set) var expectedServerSignature: [UInt8] = []
    /// The client-final-message (with its proof) was computed.
    var proofComputed: Bool { !expectedServerSignature.isEmpty }
    /// The server's `v=` matched: only then is its AuthenticationOk believed.
    private(set) var serverVerified = false

    /// nil when the kernel gives no random bytes for the nonce.
    init?(password: String) {
        // No SASLprep here: the caller gives ASCII passwords only, which
        // SASLprep (RFC 4013) leaves as they are (its mappings and
        // normalisation touch only non-ASCII; for ASCII control characters,
        // which it prohibits, libpq also sends the raw bytes). Others go to libpq.
        self.password = Array(password.utf8)
        var raw = [UInt8](repeating: 0, count: 18)
        // The kernel's CSPRNG (Glibc's module does not export getrandom(2)).
        let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        var got = 0
        while fd >= 0, got < raw.count {
            let n = raw.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, $0.count - got) }
            if n > 0 { got += n } else if n < 0 && errno == EINTR { continue } else { break }
        }
        if fd >= 0 { close(fd) }
        guard got == raw.count else { return nil }
        nonce = Base64.encode(raw)
    }

    /// The client-first-message (`n,,n=,r=<nonce>`; PostgreSQL takes the
    /// user from the startup message).
    var firstMessage: [UInt8] { Array(("n,," + clientFirstBare).utf8) }

    /// The client-final-message for the server-first-message, or why it is
    /// refused; `crypto` is the companion (nil: it could not be loaded).
    mutating func finalMessage(_ serverFirst: [UInt8],
                               crypto: (SCRAMCall.Request) -> SCRAMCall.Response?) -> Result<[UInt8], SCRAMError> {
        let text = String(decoding: serverFirst, as: UTF8.self)
        var serverNonce: Substring?, salt: [UInt8]?, iterations: Int?
        for part in text.split(separator: ",") {
            if part.hasPrefix("r=") { serverNonce = part.dropFirst(2) }
            if part.hasPrefix("s=") { salt = Base64.decode(part.dropFirst(2)) }
            if part.hasPrefix("i=") { iterations = Int(part.dropFirst(2)) }
        }
        guard let serverNonce, serverNonce.hasPrefix(nonce), serverNonce.utf8.count > nonce.utf8.count,
              let salt, !salt.isEmpty, let iterations, iterations >= 1 else {
            return .failure(SCRAMError("the server's first SCRAM message is malformed"))
        }
        // PBKDF2 does not watch the deadline: a server asking for more
        // work than this (PostgreSQL 15 asks 4096) is not computed for.
        guard iterations <= Self.maximumIterations else {
            return .failure(SCRAMError("the server asks for \(iterations) SCRAM iterations, more than the \(Self.maximumIterations) the builtin client computes (set query_client=libpq)"))
        }
        let withoutProof = "c=biws,r=\(serverNonce)"
        let authMessage = Array((clientFirstBare + "," + text + "," + withoutProof).utf8)
        guard let keys = crypto(.init(password: password, salt: salt, iterations: iterations, authMessage: authMessage)) else {
            return .failure(SCRAMError("the builtin client's SCRAM needs the companion database-scram.so beside the plugin (libnettle); it could not be loaded (see the log)"))
        }
        let proof = keys.clientProof
        expectedServerSignature = keys.serverSignature
        return .success(Array((withoutProof + ",p=" + Base64.encode(proof)).utf8))
    }

    /// Checks the server-final-message (`v=<signature>`): the server knew
    /// the password too.
    mutating func verifyFinal(_ serverFinal: [UInt8]) -> SCRAMError? {
        let text = String(decoding: serverFinal, as: UTF8.self)
        if text.hasPrefix("e=") { return SCRAMError("the server refused the SCRAM exchange: \(text.dropFirst(2))") }
        guard text.hasPrefix("v="), let signature = Base64.decode(text.dropFirst(2).prefix { $0 != "," }),
              signature == expectedServerSignature else {
            return SCRAMError("the server's SCRAM signature is wrong: not the server that knows this password")
        }
        serverVerified = true
        return nil
    }
}

struct SCRAMError: Error {
    let text: String
    init(_ text: String) { self.text = text }
}
