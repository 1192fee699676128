import HostLock
#if canImport(Glibc)
import Glibc
#endif

/// `ha_exec2 -t TEXT` over every process, reading only what a match needs.
///
/// The question is "whose command line contains TEXT"
/// (``ProcessEntry/commandLineContains(_:)``), so the scan reads
/// `/proc/PID/cmdline` of each process — one `openat`, one `read`, one
/// `close` into one reused buffer, nothing allocated per process — and
/// searches it in place. Only a process that matches (a *candidate*) is read
/// whole (`stat` for its state, group and start time, then its command line
/// again, as ``ProcessEntry``). A process with an empty command line (a
/// kernel thread, a zombie, one exiting) has its `stat` read for comm and
/// state. Zombies and the scanning process are never reported.
///
/// This is the cost floor of the question: a C program that reads every
/// cmdline once (Tests/Bench/cmdline_scan.c) does the same system calls.
/// `ProcessTable` reads stat *and* cmdline of every process, twice the calls,
/// because it answers every question. From ``parallelThreshold`` processes
/// on, on a node with more than one core, the pids (read from the
/// directory first) are split in two halves and the upper half is read on
/// a second thread; the answer and its order are the same.
public enum CommandLineSearch {
    /// Calls `body` with each process whose command line contains `needle`
    /// (bytes, case-sensitive), in ascending pid order, until `body` returns
    /// false. An empty needle matches nothing. `body` runs on the calling
    /// thread only.
    public static func forEachMatch(_ needle: [UInt8], _ body: (ProcessEntry) -> Bool) {
        forEachMatch(needle, procRoot: "/proc", excluding: getpid(), body)
    }

    /// From this many processes on, the scan is split across two threads
    /// (the node's cores; below it, a thread costs more than it saves).
    static let parallelThreshold = 1024

    /// The same under `procRoot` (tests use fake ones), leaving out `excluding`.
    static func forEachMatch(_ needle: [UInt8], procRoot: String, excluding selfPid: Int32,
                             parallel: Bool = true, _ body: (ProcessEntry) -> Bool) {
        guard !needle.isEmpty, let dir = opendir(procRoot) else { return }
        defer { closedir(dir) }
        let pids = processIDs(dir, excluding: selfPid)
        let dfd = dirfd(dir)
        guard parallel, pids.count >= parallelThreshold, sysconf(Int32(_SC_NPROCESSORS_ONLN)) > 1 else {
            let scanner = Scanner(needle: needle, directory: dfd)
            for pid in pids {
                if let entry = scanner.candidate(pid), !body(entry) { return }
            }
            return
        }
        // The upper half on a second thread, collecting its candidates; the
        // lower half here, answering as it goes. A `false` from body stops both.
        let half = pids.count / 2
        let worker = Worker(needle: needle, directory: dfd, pids: Array(pids[half...]))
        guard worker.start() else {
            let scanner = Scanner(needle: needle, directory: dfd)
            for pid in pids {
                if let entry = scanner.candidate(pid), !body(entry) { return }
            }
            return
        }
        let scanner = Scanner(needle: needle, directory: dfd)
        for pid in pids[..<half] {
            if let entry = scanner.candidate(pid), !body(entry) {
                worker.stop.store(true)
                worker.join()
                return
            }
        }
        worker.join()
        for entry in worker.found where !body(entry) { return }
    }

    /// The pids of `dir` (`/proc`), ascending, without `selfPid`.
    private static func processIDs(_ dir: OpaquePointer, excluding selfPid: Int32) -> [Int32] {
        var pids: [Int32] = []
        pids.reserveCapacity(1024)
        while let ent = readdir(dir) {
            var pid: Int64 = 0
            var length = 0
            let isProcess: Bool = withUnsafeBytes(of: &ent.pointee.d_name) { raw in
                while length < raw.count, raw[length] != 0 {
                    let c = raw[length]
                    guard c >= 0x30, c <= 0x39, length < 10 else { return false }
                    pid = pid * 10 + Int64(c - 0x30)
                    length += 1
                }
                return length > 0 && pid > 0 && pid <= Int64(Int32.max)
            }
            if isProcess && Int32(pid) != selfPid { pids.append(Int32(pid)) }
        }
        if zip(pids, pids.dropFirst()).contains(where: { $0 >= $1 }) { pids.sort() }
        return pids
    }
}

/// One thread's reader: its buffer and path, reused for every process.
private final class Scanner {
    let needle: [UInt8]
    let directory: Int32
    let buffer = ProcFileBuffer(capacity: 16384)
    let path = UnsafeMutablePointer<CChar>.allocate(capacity: 32)

    init(needle: [UInt8], directory: Int32) {
        self.needle = needle
        self.directory = directory
    }

    deinit { path.deallocate() }

    /// The process `pid` as an entry when its command line (or, without
    /// one, its comm) contains the needle; nil otherwise, or when it is
    /// gone, unreadable or a zombie.
    func candidate(_ pid: Int32) -> ProcessEntry? {
        let length = writeDecimal(UInt32(bitPattern: pid), into: path)
        for (k, c) in commandLineSuffix.enumerated() { path[length + k] = c }
        let count = buffer.read(at: directory, path)
        guard count >= 0 else { return nil }   // gone, or not readable: not a match
        var end = count
        let bytes = buffer.bytes
        while end > 0 && bytes[end - 1] == 0 { end -= 1 }
        let matched: Bool = needle.withUnsafeBufferPointer { n in
            if end > 0 {
                let line = UnsafeBufferPointer(start: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: end)
                return bytesContain(line, n, nulAsSpace: true)
            }
            // No command line: comm from stat decides (kernel threads).
            for (k, c) in statSuffix.enumerated() { path[length + k] = c }
            let m = buffer.read(at: directory, path)
            guard m > 0, let f = parseStat(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<m])),
                  !isDeadState(f.state) else { return false }
            let comm = UnsafeBufferPointer(
                start: buffer.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + f.commStart,
                count: f.commEnd - f.commStart)
            return bytesContain(comm, n)
        }
        guard matched else { return nil }
        // A candidate: read it whole, and ask again of what was read.
        var skipped = 0
        guard let entry = ProcessTable.read(pid: pid, in: directory, buffer: buffer, skipped: &skipped),
              entry.commandLineContains(needle) else { return nil }
        return entry
    }
}

/// The second thread of a split scan: collects the candidates of its pids
/// until done or told to stop.
private final class Worker: @unchecked Sendable {
    // @unchecked: `found` is written by the thread and read only after join().
    let scanner: Scanner
    let pids: [Int32]
    let stop = Locked<Bool>(false)
    var found: [ProcessEntry] = []
    private var thread = pthread_t()

    init(needle: [UInt8], directory: Int32, pids: [Int32]) {
        scanner = Scanner(needle: needle, directory: directory)
        self.pids = pids
    }

    func run() {
        for pid in pids {
            if stop.load() { return }
            if let entry = scanner.candidate(pid) { found.append(entry) }
        }
    }

    /// Starts the thread; false when it could not be created.
    func start() -> Bool {
        let context = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(&thread, nil, { context in
            let worker = Unmanaged<Worker>.fromOpaque(context!).takeRetainedValue()
            worker.run()
            return nil
        }, context)
        if created != 0 { Unmanaged<Worker>.fromOpaque(context).release() }
        return created == 0
    }

    func join() { pthread_join(thread, nil) }
}

/// "/cmdline" and "/stat" with their NUL, appended to a pid's digits.
private let commandLineSuffix: [CChar] = Array("/cmdline".utf8CString)
private let statSuffix: [CChar] = Array("/stat".utf8CString)

/// Zombie (`Z`) or dead (`X`, `x`): state letters of a process that is gone.
@inline(__always)
func isDeadState(_ state: UInt8) -> Bool {
    state == 0x5A /* Z */ || state == 0x58 /* X */ || state == 0x78 /* x */
}
