import FSPluginABI

extension Resource {
    /// An exclusive lock shared by every resource of this type on `key`
    /// (letters, digits, `_ . -`, not starting with a dot, at most 128 bytes;
    /// ``sharedLockKey(_:)`` makes one from any text), held by the host in
    /// its root-only run directory: for a check-then-change on something
    /// several resources share (the nfs type's exports directory). Never
    /// lock the shared thing itself: any local user who can open it can
    /// flock it too.
    ///
    /// - Returns: the descriptor to `close` to release it (the kernel
    ///   releases it when the process ends), or nil — the lock stayed busy
    ///   for `limit` (bounded by the time left), the key is invalid, or the
    ///   host is older than `shared_lock`; the host has set the reason.
    public func sharedLock(_ key: String, within limit: Duration) -> Int32? {
        guard Int(host.pointee.struct_size) >= MemoryLayout<fshost_host>.offset(of: \fshost_host.shared_lock)!
                + MemoryLayout<UnsafeRawPointer>.size,
              let call = host.pointee.shared_lock else { return nil }
        let fd = call(host.pointee.context, key, limit.milliseconds)
        return fd >= 0 ? fd : nil
    }

    /// A valid ``sharedLock(_:within:)`` key for any text (a path): `prefix`
    /// (itself a valid key), `-`, and the text's 64-bit FNV-1a hash in hex.
    public static func sharedLockKey(_ prefix: String, _ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return prefix + "-" + String(repeating: "0", count: 16 - hex.utf8.count) + hex
    }
}
