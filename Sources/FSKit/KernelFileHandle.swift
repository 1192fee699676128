import CSystemShims
#if canImport(Glibc)
import Glibc
#endif

/// The file handle the kernel gives a path (`name_to_handle_at(2)`), as
/// text: what an NFS server exports a file by. Unlike `st_dev:st_ino` it
/// tells a directory made anew at a reused inode number from the old one
/// (ext4 and xfs put the inode's generation in it): ext4 hands a removed
/// directory's inode number to the next `mkdir`, and NFS clients of the old
/// one then get ESTALE while the numbers match (R10E, finding 5).
public enum KernelFileHandle {
    /// Lowercase hex of the handle type (4 bytes) and the handle; nil when
    /// the path cannot be asked or its filesystem has no handles.
    public static func of(_ path: String) -> String? {
        var bytes = [UInt8](repeating: 0, count: 132)
        let n = csys_file_handle(path, &bytes, Int32(bytes.count))
        guard n > 0 else { return nil }
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(Int(n) * 2)
        for b in bytes[..<Int(n)] {
            text.append(digits[Int(b >> 4)])
            text.append(digits[Int(b & 15)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
