/// The Swift compiler version this module was built with, as
/// major·10000 + minor·100 + patch.
///
/// Host and plugins must come from one compiler: they share one
/// `libswiftCore.so`, and the record of a plugin carries this number so the
/// host can refuse a mismatch before loading. `#if compiler` is the only
/// compile-time source of the version, so the table is explicit; a newer
/// compiler stops the build here until a line is added for it (a wrong
/// number would be worse than a build error).
public let compilerVersion: UInt32 = {
    #if compiler(>=6.3.2)
    #error("PluginRecord: add this Swift compiler to the table in CompilerVersion.swift")
    #elseif compiler(>=6.3.1)
    return 6_03_01
    #elseif compiler(>=6.3)
    return 6_03_00
    #elseif compiler(>=6.2.1)
    return 6_02_01
    #elseif compiler(>=6.2)
    return 6_02_00
    #else
    #error("PluginRecord: fshost needs Swift 6.2 or newer (@section)")
    #endif
}()

/// `60301` → `"6.3.1"`.
public func compilerVersionString(_ v: UInt32) -> String {
    "\(v / 10000).\(v / 100 % 100).\(v % 100)"
}
