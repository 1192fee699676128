// The one call the database plugin's builtin SCRAM client makes into its
// companion database-scram.so (libnettle): declared once here, depended on
// by both. The build writes this file's hash into the call's signature and
// the companion's record; the host refuses a companion built from another
// version of this file before loading it.
import FSKit

/// SCRAM-SHA-256's computation (RFC 5802 §3, RFC 7677) for one exchange:
/// the keys and proofs from the password, salt and iterations the server
/// sent. The protocol (nonces, messages, the iteration limit, the check of
/// the server's signature) stays in the plugin (SCRAM.swift); only the
/// crypto is here, so libnettle loads only when a server asks for SCRAM.
public enum SCRAMCall: CompanionCall {
    public static let companionName = "scram"

    public struct Request: Sendable, Equatable {
        /// The password's bytes (UTF-8; SASLprep left out, see SCRAM.swift).
        public var password: [UInt8]
        /// The salt the server sent (decoded from base64).
        public var salt: [UInt8]
        /// PBKDF2's iteration count (`i=`), at least 1; the plugin refuses
        /// more than its limit before asking.
        public var iterations: Int
        /// AuthMessage: client-first-bare "," server-first "," client-final-without-proof.
        public var authMessage: [UInt8]

        public init(password: [UInt8], salt: [UInt8], iterations: Int, authMessage: [UInt8]) {
            self.password = password
            self.salt = salt
            self.iterations = iterations
            self.authMessage = authMessage
        }
    }

    public struct Response: Sendable, Equatable {
        /// ClientKey XOR HMAC(StoredKey, AuthMessage): 32 bytes, sent as `p=`.
        public var clientProof: [UInt8]
        /// HMAC(ServerKey, AuthMessage): 32 bytes, what the server's `v=` must be.
        public var serverSignature: [UInt8]

        public init(clientProof: [UInt8], serverSignature: [UInt8]) {
            self.clientProof = clientProof
            self.serverSignature = serverSignature
        }
    }
}
