#if canImport(Glibc)
import Glibc
#endif

/// A companion call's signature: `<CallType>@<16 hex digits>`, the 64-bit
/// FNV-1a hash of the call target's source files (each file's name, a NUL,
/// its bytes, in path order). The plugin's copy of the call and the
/// companion's record get it from the same files, so a companion built from
/// another declaration of the call carries another signature and is
/// refused before it is loaded.
enum CallSignature {
    static func of(call: String, sources: [String]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ bytes: some Sequence<UInt8>) {
            for b in bytes { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        }
        for path in sources.sorted() {
            mix((path.split(separator: "/").last.map(String.init) ?? path).utf8)
            mix([0])
            mix(contents(path))
        }
        let hex = String(hash, radix: 16)
        return call + "@" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    static func contents(_ path: String) -> [UInt8] {
        guard let file = fopen(path, "rb") else { fail("cannot read \(path)", status: 1) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n > 0 { bytes += buffer[0..<n] }
            if n < buffer.count { break }
        }
        return bytes
    }
}
