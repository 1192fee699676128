import CDB
import ELFCheck
import FSPluginABI
import HAVocabulary
import PluginRecord

/// A monitoring level as the plugin declares it.
public struct LevelInfo: Sendable {
    public let number: UInt32
    public let name: String
    public let description: String
    public let cost: String
}

/// A verified, loaded plugin: the Swift view of its C descriptor.
public final class LoadedPlugin: @unchecked Sendable {
    /// The file it was loaded from.
    public let path: String
    /// The ELF record read before loading.
    public let record: PluginRecord
    /// The C descriptor, for the action runtime that calls it.
    package let descriptor: UnsafePointer<fshost_plugin>

    public let typeName: String
    public let summary: String
    /// Levels, shallowest first.
    public let levels: [LevelInfo]
    /// The type's own attributes.
    public let attributes: [AttributeSpec]
    /// Attributes plus the host settings every resource may set.
    public let schema: AttributeSchema

    /// Where the plugin's verification was remembered (the action path's
    /// cache): its companions, and their libraries, are remembered there
    /// too. nil: they are verified in full.
    package let verificationCache: VerificationCache?

    init(path: String, record: PluginRecord, descriptor: UnsafePointer<fshost_plugin>, verificationCache: VerificationCache? = nil) {
        self.path = path
        self.verificationCache = verificationCache
        self.record = record
        self.descriptor = descriptor
        let d = descriptor.pointee
        typeName = String(cString: d.type_name)
        summary = d.summary.map { String(cString: $0) } ?? ""
        levels = (0..<Int(d.level_count)).map { i in
            let l = d.levels[i]
            return LevelInfo(number: l.number, name: String(cString: l.name),
                             description: l.description.map { String(cString: $0) } ?? "",
                             cost: l.cost.map { String(cString: $0) } ?? "")
        }.sorted { $0.number < $1.number }
        attributes = PluginAttributes.read(d, structSize: Int(d.struct_size))
        schema = AttributeSchema(pluginSpecs: attributes, levels: levels.map(\.number))
    }

    /// Whether the plugin implements `action` itself (the host supplies
    /// restart and exclusive when it does not).
    public func implements(_ action: ActionName) -> Bool {
        let d = descriptor.pointee
        switch action {
        case .exclusive: return d.exclusive != nil
        case .start: return d.start != nil
        case .stop: return d.stop != nil
        case .monitor: return d.monitor != nil
        case .restart: return d.restart != nil
        case .validate: return d.validate != nil
        }
    }

    /// The plugin's default timeout for `action`, in milliseconds, within
    /// the host's bounds (``HostSetting/timeoutRange``): a plugin's
    /// compiled-in default obeys the rule a resource's value obeys.
    public func defaultTimeoutMilliseconds(_ action: ActionName) -> Int64 {
        let raw = withUnsafeBytes(of: descriptor.pointee.default_timeout_ms) { raw in
            Int64(raw.bindMemory(to: UInt32.self)[action.abiIndex])
        }
        return raw.clamped(to: HostSetting.timeoutRange)
    }

    public var defaultLevel: UInt32 { descriptor.pointee.default_level }
    /// Within ``HostSetting/retriesRange``.
    public var defaultRetries: UInt32 {
        UInt32(Int64(descriptor.pointee.default_retries).clamped(to: HostSetting.retriesRange))
    }
    /// Within ``HostSetting/retryIntervalRange`` (its floor bounds a failing
    /// monitor's log lines, whoever chose the interval).
    public var defaultRetryIntervalMilliseconds: Int64 {
        Int64(descriptor.pointee.default_retry_interval_ms).clamped(to: HostSetting.retryIntervalRange)
    }
}

extension Comparable {
    func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}
