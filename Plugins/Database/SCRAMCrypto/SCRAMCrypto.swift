// database-scram: the companion object holding the builtin SCRAM client's
// crypto — PBKDF2, HMAC and SHA-256 from libnettle (which picks the CPU's
// SHA extensions itself) — so that no level loads libnettle unless the
// server asks for SCRAM (a level-1 call loads nothing: docs/ARCHITECTURE.md §4).
import CNettle
import SCRAMCall

/// RFC 5802 §3: SaltedPassword = Hi(password, salt, i) (PBKDF2-HMAC-SHA-256,
/// one 32-byte block); ClientKey = HMAC(SaltedPassword, "Client Key");
/// StoredKey = H(ClientKey); ClientProof = ClientKey XOR HMAC(StoredKey,
/// AuthMessage); ServerSignature = HMAC(HMAC(SaltedPassword, "Server Key"), AuthMessage).
func serve(_ request: SCRAMCall.Request) -> SCRAMCall.Response {
    var salted = [UInt8](repeating: 0, count: 32)
    request.password.withUnsafeBufferPointer { key in
        request.salt.withUnsafeBufferPointer { salt in
            nettle_pbkdf2_hmac_sha256(key.count, key.baseAddress, UInt32(max(1, request.iterations)),
                                      salt.count, salt.baseAddress, 32, &salted)
        }
    }
    defer { for i in salted.indices { salted[i] = 0 } }
    let clientKey = hmac(salted, Array("Client Key".utf8))
    let clientSignature = hmac(sha256(clientKey), request.authMessage)
    let serverKey = hmac(salted, Array("Server Key".utf8))
    return .init(clientProof: zip(clientKey, clientSignature).map { $0 ^ $1 },
                 serverSignature: hmac(serverKey, request.authMessage))
}

/// HMAC-SHA-256 (RFC 2104) of `message` under `key`: 32 bytes.
func hmac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
    var context = hmac_sha256_ctx()
    var out = [UInt8](repeating: 0, count: 32)
    key.withUnsafeBufferPointer { nettle_hmac_sha256_set_key(&context, $0.count, $0.baseAddress) }
    message.withUnsafeBufferPointer { nettle_hmac_sha256_update(&context, $0.count, $0.baseAddress) }
    nettle_hmac_sha256_digest(&context, 32, &out)
    return out
}

/// SHA-256 (FIPS 180-4) of `message`: 32 bytes.
func sha256(_ message: [UInt8]) -> [UInt8] {
    var context = sha256_ctx()
    var out = [UInt8](repeating: 0, count: 32)
    nettle_sha256_init(&context)
    message.withUnsafeBufferPointer { nettle_sha256_update(&context, $0.count, $0.baseAddress) }
    nettle_sha256_digest(&context, 32, &out)
    return out
}
