// backend=kernel: the kernel's NFS server through `exportfs` (nfs-utils),
// one `exportfs -o OPTIONS CLIENT:PATH` per client. Only where the kernel
// has nfsd: /proc/filesystems lists `nfsd` (its control file system, mounted
// on /proc/fs/nfsd). This machine's kernel has none (DESIGN.md §8) — yet
// /proc/fs/nfsd exists here as an empty directory, so the directory alone
// proves nothing; validate refuses the backend here, saying so.
import FSKit

extension NFS {
    static let nfsdDirectory = "/proc/fs/nfsd"
    /// exportfs's table of what the kernel exports.
    static let etab = "/var/lib/nfs/etab"

    /// exportfs options: access, squash, the export id as fsid.
    var kernelOptions: String {
        [block.access.rawValue, block.squash.rawValue, "fsid=\(block.exportID)", "sync", "no_subtree_check"]
            .joined(separator: ",")
    }

    /// `CLIENT:PATH` (an IPv6 client in brackets).
    func kernelTarget(_ client: String) -> String {
        (client.contains(Character(":")) ? "[\(client)]" : client) + ":" + block.path
    }

    /// The kernel has an NFS server: /proc/filesystems lists nfsd.
    static var kernelHasNfsd: Bool {
        guard case .success(let bytes) = SmallFile.read("/proc/filesystems", limit: 1 << 16) else { return false }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").contains { $0.hasSuffix("\tnfsd") }
    }

    func kernelValidate() -> Outcome {
        if !NFS.kernelHasNfsd {
            return .badConfiguration("attribute 'backend': kernel needs the kernel's NFS server; this kernel has none (no nfsd in /proc/filesystems, nothing behind \(NFS.nfsdDirectory))")
        }
        if let why = FileCheck.problem(exportfs, .executable) { return .badConfiguration("attribute 'exportfs': \(exportfs): \(why)") }
        return .success
    }

    /// The clients etab lists for this path.
    func kernelExportedClients() -> [String] {
        guard case .success(let bytes) = SmallFile.read(NFS.etab, limit: 1 << 20) else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { line in
            let fields = line.split(separator: "\t", maxSplits: 1)
            guard fields.count == 2, fields[0] == block.path else { return nil }
            return String(fields[1].prefix { $0 != "(" })
        }
    }

    func kernelStart() -> Outcome {
        for client in block.clients {
            let r = resource.run([exportfs, "-o", kernelOptions, kernelTarget(client)], timeout: .seconds(10), captureOutput: true)
            if !r.succeeded { return .failed("exportfs -o \(kernelOptions) \(kernelTarget(client)) \(r.summary): \(LogText.escaped(r.output, limit: 200))") }
        }
        return .success
    }

    func kernelStop() -> Outcome {
        for client in block.clients where kernelExportedClients().contains(client) {
            let r = resource.run([exportfs, "-u", kernelTarget(client)], timeout: .seconds(10), captureOutput: true)
            if !r.succeeded { return .failed("exportfs -u \(kernelTarget(client)) \(r.summary): \(LogText.escaped(r.output, limit: 200))") }
        }
        return .success
    }

    func kernelExclusive() -> Outcome {
        kernelExportedClients().isEmpty ? .notRunning("\(block.path) is not in \(NFS.etab)") : .running("\(block.path) is exported by the kernel")
    }

    /// Level 1 for the kernel: nfsd is there and etab lists every client.
    func kernelProbeServer() -> Outcome {
        let listed = kernelExportedClients()
        if listed.isEmpty { return .notRunning("\(block.path) is not in \(NFS.etab)") }
        if !NFS.kernelHasNfsd { return .failed("no nfsd in /proc/filesystems: no kernel NFS server") }
        if let missing = block.clients.first(where: { !listed.contains($0) }) {
            return .failed("\(NFS.etab) does not export \(block.path) to \(missing)")
        }
        return .success
    }
}
