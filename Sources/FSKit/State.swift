import FSPluginABI

/// Small per-resource state kept between calls (a daemon's identity, log
/// offsets): one file per key under the host's state directory, replaced
/// atomically. Keys are file names: letters, digits, `_ . -`, not starting
/// with a dot, at most 128 bytes.
public struct State {
    let host: UnsafePointer<fshost_host>

    /// Why a value could not be stored (a full or read-only disk, an unsafe
    /// state directory, an invalid key). Its text is short on purpose: the
    /// host appends the cause (directory, errno) to the action's one line,
    /// so a reason that embeds this does not name the cause twice.
    public struct WriteError: Error, Sendable, CustomStringConvertible {
        /// The key that was not written.
        public let key: String
        /// `state 'KEY' not written` (the host adds the cause).
        public var description: String { "state '\(key)' not written" }
    }

    /// The value, nil when absent or unreadable.
    public subscript(key: String) -> String? {
        get { (try? value(for: key)) ?? nil }
        /// A failed write is never lost silently: the host keeps the first
        /// failure of the action and answers `HA_HOST_ERROR` naming it, in
        /// the action's one line. Use ``store(_:for:)`` to act on it here.
        nonmutating set {
            try? store(newValue, for: key)
        }
    }

    /// Why a value could not be read: the state directory or file is
    /// unsafe or unreadable (the host appends the cause, such as the
    /// directory's permissions, to the action's one line and answers
    /// `HA_HOST_ERROR`).
    public struct ReadError: Error, Sendable, CustomStringConvertible {
        /// The key that was not read.
        public let key: String
        /// `state 'KEY' not readable` (the host adds the cause).
        public var description: String { "state '\(key)' not readable" }
    }

    /// The value of `key`, nil when absent; throws when the host could not
    /// read it (its ABI's -1), unlike the subscript, which reads both as
    /// nil. A host that answers 1 for both is read as "absent".
    public func value(for key: String) throws(ReadError) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        var length = 0
        var found = host.pointee.state_get(host.pointee.context, key, &buffer, buffer.count, &length)
        if found == 0, length > buffer.count {
            buffer = [CChar](repeating: 0, count: length)
            found = host.pointee.state_get(host.pointee.context, key, &buffer, buffer.count, &length)
        }
        switch found {
        case 0: return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        case 1: return nil
        default: throw ReadError(key: key)
        }
    }

    /// Stores `value` under `key` (nil removes it), or throws.
    ///
    /// `synced` false: without fsync(2), for state that a reboot makes
    /// meaningless anyway (what the kernel holds); still replaced
    /// atomically. A host older than `state_put_unsynced` syncs.
    public func store(_ value: String?, for key: String, synced: Bool = true) throws(WriteError) {
        var put = host.pointee.state_put!
        if !synced, Int(host.pointee.struct_size) >= MemoryLayout<fshost_host>.offset(of: \fshost_host.state_put_unsynced)!
            + MemoryLayout<UnsafeRawPointer>.size, let unsynced = host.pointee.state_put_unsynced {
            put = unsynced
        }
        let rc: Int32
        if let value {
            rc = value.withCString { put(host.pointee.context, key, $0, value.utf8.count) }
        } else {
            rc = put(host.pointee.context, key, nil, 0)
        }
        if rc != 0 { throw WriteError(key: key) }
    }
}
