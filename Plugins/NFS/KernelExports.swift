// backend=kernel: the kernel's NFS server through `exportfs` (nfs-utils),
// one `exportfs -o OPTIONS CLIENT:PATH` per client. Only where the kernel
// has nfsd (/proc/fs/nfsd); this machine's kernel has none (DESIGN.md §8),
// so validate refuses the backend here, naming the missing directory.
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
        (client.contains(":") ? "[\(client)]" : client) + ":" + block.path
    }

    func kernelValidate() -> Outcome {
        if !FileCheck.exists(NFS.nfsdDirectory) {
            return .badConfiguration("attribute 'backend': kernel needs the kernel's NFS server, and \(NFS.nfsdDirectory) does not exist (no nfsd in this kernel)")
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
        if !FileCheck.exists(NFS.nfsdDirectory) { return .failed("\(NFS.nfsdDirectory) is missing: no kernel NFS server") }
        if let missing = block.clients.first(where: { !listed.contains($0) }) {
            return .failed("\(NFS.etab) does not export \(block.path) to \(missing)")
        }
        return .success
    }
}
