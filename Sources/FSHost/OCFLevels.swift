import PluginLoading

/// How an OCF monitor depth (`OCF_CHECK_LEVEL`, and the `depth` of the
/// meta-data's monitor actions) maps onto a type's monitoring levels.
///
/// OCF depths are multiples of 10, deeper is more thorough (OCF Resource
/// Agent API, "monitor": 0 is the cheapest check); a type's levels are its
/// own numbers, shallowest first. The n-th level (from 0) is depth n × 10:
///
/// | OCF_CHECK_LEVEL | level |
/// |---|---|
/// | unset | the resource's `monitor_level` (OCF_RESKEY_monitor_level), else the type's default — what the native call runs |
/// | 0–9 | the type's first (shallowest) level |
/// | 10–19 | its second |
/// | n × 10 … | its (n+1)-th; beyond the deepest, the deepest |
///
/// So webserver's levels 1 (process), 2 (port), 3 (http) are depths 0, 10, 20.
public enum OCFLevels {
    /// The type level for OCF depth `depth`.
    public static func level(depth: UInt32, of plugin: LoadedPlugin) -> UInt32 {
        let numbers = plugin.levels.map(\.number)
        guard !numbers.isEmpty else { return plugin.defaultLevel }
        return numbers[min(Int(depth / 10), numbers.count - 1)]
    }

    /// The OCF depth advertised for the `index`-th level (from 0).
    public static func depth(index: Int) -> Int { index * 10 }
}
