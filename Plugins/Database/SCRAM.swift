// SCRAM-SHA-256 for the builtin level-3 client (RFC 5802, RFC 7677; the
// PostgreSQL 15 docs, "SASL Authentication"): SHA-256 (FIPS 180-4), HMAC
// (RFC 2104) and PBKDF2 (RFC 8018, as SCRAM's Hi()), without a crypto
// library to load — libcrypto and libpq's ~24 libraries cost ~4 ms of
// every call that loads them. Only this plugin needs it, so it lives here.
import CSHA256
#if canImport(Glibc)
import Glibc
#endif

/// Whether the CPU's SHA extensions compress the blocks (CSHA256): PBKDF2's
/// 8192 blocks take ~0.9 ms there, ~2.1 ms in the Swift below, which a
/// CPU without them uses. `FSHOST_DATABASE_SHA256=software` makes a CPU
/// with them use the Swift too: the tests run both against the server.
let hardwareSHA256: Bool = {
    if let choice = getenv("FSHOST_DATABASE_SHA256"), String(cString: choice) == "software" { return false }
    return csha256_available() != 0
}()

/// SHA-256 of a message, and the block function HMAC and PBKDF2 reuse.
struct SHA256 {
    /// The round constants (FIPS 180-4 §4.2.2), from CSHA256.
    // Read-only C data: safe to share between threads.
    nonisolated(unsafe) static let k = UnsafeBufferPointer(start: csha256_round_constants(), count: 64)
    static let initial: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]

    /// One 64-byte block into `state` (8 words).
    @inline(__always)
    static func compress(_ state: UnsafeMutablePointer<UInt32>, _ block: UnsafePointer<UInt8>, _ w: UnsafeMutablePointer<UInt32>) {
        if hardwareSHA256 { csha256_compress(state, block, 1); return }
        for i in 0..<16 {
            w[i] = UInt32(block[4 * i]) << 24 | UInt32(block[4 * i + 1]) << 16 | UInt32(block[4 * i + 2]) << 8 | UInt32(block[4 * i + 3])
        }
        for i in 16..<64 {
            let a = w[i - 15], b = w[i - 2]
            let s0 = (a >> 7 | a << 25) ^ (a >> 18 | a << 14) ^ (a >> 3)
            let s1 = (b >> 17 | b << 15) ^ (b >> 19 | b << 13) ^ (b >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7]
        do {
            let k = Self.k
            for i in 0..<64 {
                let s1 = (e >> 6 | e << 26) ^ (e >> 11 | e << 21) ^ (e >> 25 | e << 7)
                let t1 = h &+ s1 &+ ((e & f) ^ (~e & g)) &+ k[i] &+ w[i]
                let s0 = (a >> 2 | a << 30) ^ (a >> 13 | a << 19) ^ (a >> 22 | a << 10)
                let t2 = s0 &+ ((a & b) ^ (a & c) ^ (b & c))
                h = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
            }
        }
        state[0] &+= a; state[1] &+= b; state[2] &+= c; state[3] &+= d
        state[4] &+= e; state[5] &+= f; state[6] &+= g; state[7] &+= h
    }

    /// SHA-256 of `message`, continuing from `state` after `prefixBytes`
    /// bytes already compressed into it (HMAC's padded key block).
    static func hash(_ message: [UInt8], from state: [UInt32] = initial, prefixBytes: Int = 0) -> [UInt8] {
        var padded = message
        padded.append(0x80)
        while padded.count % 64 != 56 { padded.append(0) }
        let bits = UInt64(message.count + prefixBytes) * 8
        for shift in stride(from: 56, through: 0, by: -8) { padded.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        var st = state
        var w = [UInt32](repeating: 0, count: 64)
        st.withUnsafeMutableBufferPointer { s in
            w.withUnsafeMutableBufferPointer { w in
                padded.withUnsafeBufferPointer { p in
                    for offset in stride(from: 0, to: p.count, by: 64) { compress(s.baseAddress!, p.baseAddress! + offset, w.baseAddress!) }
                }
            }
        }
        return words(st)
    }

    static func words(_ state: [UInt32]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for word in state { out += [UInt8(word >> 24), UInt8((word >> 16) & 0xff), UInt8((word >> 8) & 0xff), UInt8(word & 0xff)] }
        return out
    }
}

/// HMAC-SHA-256 with its key's inner and outer blocks compressed once.
struct HMACSHA256 {
    let inner: [UInt32], outer: [UInt32]

    init(key: [UInt8]) {
        var block = key.count > 64 ? SHA256.hash(key) : key
        block += [UInt8](repeating: 0, count: 64 - block.count)
        var w = [UInt32](repeating: 0, count: 64)
        func state(_ pad: UInt8) -> [UInt32] {
            var s = SHA256.initial
            let padded = block.map { $0 ^ pad }
            s.withUnsafeMutableBufferPointer { s in
                w.withUnsafeMutableBufferPointer { w in
                    padded.withUnsafeBufferPointer { SHA256.compress(s.baseAddress!, $0.baseAddress!, w.baseAddress!) }
                }
            }
            return s
        }
        inner = state(0x36)
        outer = state(0x5c)
    }

    func mac(_ message: [UInt8]) -> [UInt8] {
        SHA256.hash(SHA256.hash(message, from: inner, prefixBytes: 64), from: outer, prefixBytes: 64)
    }

    /// PBKDF2-HMAC-SHA-256 with one 32-byte block (SCRAM's `Hi`): the
    /// iterations each compress two prepared blocks, with nothing allocated.
    func pbkdf2(salt: [UInt8], iterations: Int) -> [UInt8] {
        var u = mac(salt + [0, 0, 0, 1])
        var result = u
        guard iterations > 1 else { return result }
        // A 32-byte message after the 64-byte key block: one block of
        // message, 0x80, zeros, and the length 96 bytes = 768 bits.
        var block = [UInt8](repeating: 0, count: 64)
        block[32] = 0x80
        block[62] = 0x03
        var w = [UInt32](repeating: 0, count: 64)
        var state = [UInt32](repeating: 0, count: 8)
        block.withUnsafeMutableBufferPointer { blk in
            w.withUnsafeMutableBufferPointer { w in
                state.withUnsafeMutableBufferPointer { s in
                    func run(_ from: [UInt32]) {
                        for i in 0..<8 { s[i] = from[i] }
                        SHA256.compress(s.baseAddress!, UnsafePointer(blk.baseAddress!), w.baseAddress!)
                        for i in 0..<8 {
                            blk[4 * i] = UInt8(s[i] >> 24); blk[4 * i + 1] = UInt8((s[i] >> 16) & 0xff)
                            blk[4 * i + 2] = UInt8((s[i] >> 8) & 0xff); blk[4 * i + 3] = UInt8(s[i] & 0xff)
                        }
                    }
                    for i in 0..<32 { blk[i] = u[i] }
                    for _ in 1..<iterations {
                        run(inner)
                        run(outer)
                        for i in 0..<32 { result[i] ^= blk[i] }
                    }
                    for i in 0..<32 { u[i] = blk[i] }
                }
            }
        }
        return result
    }
}

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
    /// The most PBKDF2 iterations computed (~25 ms on SHA-NI, ~50 ms in Swift).
    static let maximumIterations = 100_000
    /// What the server's final message must carry (`v=`), once computed.
    private(set) var expectedServerSignature: [UInt8] = []

    /// nil when the kernel gives no random bytes for the nonce.
    init?(password: String) {
        // SASLprep is left out: the password is sent as its UTF-8 bytes,
        // which is what SASLprep yields for ASCII (libpq also falls back to
        // the raw bytes when a password is not valid SASLprep input).
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

    /// The client-final-message for the server-first-message, or why it is refused.
    mutating func finalMessage(_ serverFirst: [UInt8]) -> Result<[UInt8], SCRAMError> {
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
        let salted = HMACSHA256(key: password).pbkdf2(salt: salt, iterations: iterations)
        let saltedKey = HMACSHA256(key: salted)
        let clientKey = saltedKey.mac(Array("Client Key".utf8))
        let storedKey = SHA256.hash(clientKey)
        let withoutProof = "c=biws,r=\(serverNonce)"
        let authMessage = Array((clientFirstBare + "," + text + "," + withoutProof).utf8)
        let signature = HMACSHA256(key: storedKey).mac(authMessage)
        let proof = zip(clientKey, signature).map { $0 ^ $1 }
        expectedServerSignature = HMACSHA256(key: saltedKey.mac(Array("Server Key".utf8))).mac(authMessage)
        return .success(Array((withoutProof + ",p=" + Base64.encode(proof)).utf8))
    }

    /// Checks the server-final-message (`v=<signature>`): the server knew
    /// the password too.
    func verifyFinal(_ serverFinal: [UInt8]) -> SCRAMError? {
        let text = String(decoding: serverFinal, as: UTF8.self)
        if text.hasPrefix("e=") { return SCRAMError("the server refused the SCRAM exchange: \(text.dropFirst(2))") }
        guard text.hasPrefix("v="), let signature = Base64.decode(text.dropFirst(2).prefix { $0 != "," }),
              signature == expectedServerSignature else {
            return SCRAMError("the server's SCRAM signature is wrong: not the server that knows this password")
        }
        return nil
    }
}

struct SCRAMError: Error {
    let text: String
    init(_ text: String) { self.text = text }
}
