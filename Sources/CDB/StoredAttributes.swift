// The schema's side of what the CDB stores: values in canonical text, and
// the schema with the host settings' defaults the admin tool answers with.
extension AttributeSchema {
    /// The canonical text of `values` without defaults or required checks
    /// (what is stored): unknown keys first, then wrong kinds, in key order.
    public func canonicalize(_ values: [String: String]) -> Result<[String: String], SchemaViolation> {
        for key in values.keys.sorted() where spec(key) == nil {
            return .failure(.unknownKey(key))
        }
        var canonical: [String: String] = [:]
        for key in values.keys.sorted() {
            switch AttributeConstraints.check(values[key]!, against: spec(key)!) {
            case .success(let text): canonical[key] = text
            case .failure(let problem): return .failure(.wrongType(key: key, problem: problem.message))
            }
        }
        return .success(canonical)
    }
}

extension AttributeSchema {
    /// `pluginSpecs` followed by ``HostSetting/specs`` with the defaults in
    /// `hostDefaults` (by setting name: the plugin descriptor's level,
    /// retries and timeouts), so `fshost cdb get` and `show` can answer
    /// them as the host would.
    public init(pluginSpecs: [AttributeSpec], hostDefaults: [String: String], levels: [UInt32]? = nil) {
        self.init(combinedSpecs: pluginSpecs + (levels.map(HostSetting.specs(levels:)) ?? HostSetting.specs).map { spec in
            var spec = spec
            if let value = hostDefaults[spec.name] { spec.defaultValue = value }
            return spec
        })
    }

    private init(combinedSpecs specs: [AttributeSpec]) {
        self.specs = specs
    }
}
