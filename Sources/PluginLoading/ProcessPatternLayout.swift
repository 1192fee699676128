import FSPluginABI

/// The layout of a plugin's `fshost_process_pattern` array, as far as the
/// plugin was built: checked at load (a stride the host cannot read is a
/// refused plugin) and used by the process checks to read the array.
package enum ProcessPatternLayout {
    /// `sizeof(fshost_process_pattern)` of the first published header: name
    /// and argument, two pointers.
    package static let firstSize = 2 * MemoryLayout<UnsafeRawPointer>.size
    /// The stride of the plugin's `processes` array: its
    /// `process_pattern_size` when its `struct_size` covers that field, else
    /// the first published size. nil for a stride that cannot hold the
    /// first fields or is not a multiple of their alignment.
    package static func stride(of d: UnsafePointer<fshost_plugin>) -> Int? {
        let end = MemoryLayout<fshost_plugin>.offset(of: \fshost_plugin.process_pattern_size)! + MemoryLayout<UInt32>.size
        guard Int(d.pointee.struct_size) >= end else { return firstSize }
        let stride = Int(d.pointee.process_pattern_size)
        guard stride >= firstSize, stride <= 4096, stride % MemoryLayout<UnsafeRawPointer>.alignment == 0 else {
            return nil
        }
        return stride
    }
}
