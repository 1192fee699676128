import TrustedPaths
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension CDBSnapshot {
    /// Rewrites every resource's snapshot file of `cdb` (opened read-write,
    /// its last commit done and checkpointed), and removes those of
    /// resources that are gone. Returns a warning when the snapshot could
    /// not be written (the CDB itself is fine; actions then read SQLite).
    ///
    /// Holds an `flock` on the snapshot directory (one writer at a time,
    /// so the last to run wrote the newest) and SQLite's write lock while
    /// it reads (no commit can slip between the identity it records and
    /// the attributes it writes); waits until the database's times are
    /// ``racyMargin`` old before it records them (see the type's rule).
    static func refresh(_ cdb: ConfigurationDatabase) -> String? {
        guard let real = PathTrust.resolve(cdb.path) else { return nil }
        let directory = directory(ofResolved: real)
        if mkdir(directory, 0o700) != 0 && errno != EEXIST { return problem(directory, "cannot be created") }
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard dirFD >= 0 else { return problem(directory, "cannot be opened") }
        defer { close(dirFD) }
        var st = stat()
        guard fstat(dirFD, &st) == 0 else { return problem(directory, "cannot be inspected") }
        if let violation = PathTrust().checkFile(st, path: directory, role: "directory") {
            return "cannot refresh the CDB snapshot: \(violation); actions read the CDB instead"
        }
        guard flock(dirFD, LOCK_EX) == 0 else { return problem(directory, "cannot be locked") }
        defer { _ = flock(dirFD, LOCK_UN) }
        // No stamp while the files change (its identity is out of date
        // already: the commit changed the database's files).
        _ = unlinkat(dirFD, stampName, 0)

        do {
            try cdb.connection.execute("BEGIN IMMEDIATE", operation: "lock")
        } catch {
            // (No stamp: the files are not trusted until the next refresh.)
            return "cannot refresh the CDB snapshot (\(error)); actions read the CDB instead"
        }
        defer { _ = try? cdb.connection.execute("ROLLBACK", operation: "unlock") }

        // Wait until every time the files carry is racyMargin old: any write
        // after the identity is recorded then has later times.
        var recorded: (Identity, Identity?)?
        for _ in 0..<20 {
            guard let now = identities(ofResolved: real) else { break }
            let age = realtimeNanoseconds() - max(now.0.latest, now.1?.modified ?? 0)
            if age >= racyMargin { recorded = now; break }
            var pause = timespec(tv_sec: 0, tv_nsec: Int(min(racyMargin - max(age, 0), racyMargin)))
            _ = nanosleep(&pause, nil)
        }
        // Whole-second timestamps (both parts 0 ns) cannot tell writes apart.
        guard let (database, wal) = recorded, database.mtimeNanoseconds != 0 || database.ctimeNanoseconds != 0 else {
            // (No stamp: the files are not trusted until the next refresh.)
            return nil
        }
        let types: [TypeConfiguration]
        do { types = try cdb.snapshot() } catch {
            // (No stamp: the files are not trusted until the next refresh.)
            return "cannot refresh the CDB snapshot (\(error)); actions read the CDB instead"
        }
        guard let after = identities(ofResolved: real), after.0 == database,
              after.1?.sameContent(as: wal) ?? (wal == nil) else {
            // (No stamp: the files are not trusted until the next refresh.)
            return nil
        }
        var written: Set<String> = [stampName]
        var failure: String?
        for entry in types {
            for (resource, own) in entry.resources {
                let name = fileName(type: entry.type, resource: resource)
                let attributes = entry.typeAttributes.merging(own) { _, resourceValue in resourceValue }
                let bytes = encode(database: nil, wal: nil, attributes: attributes)
                if holds(bytes, name: name, in: dirFD) || write(bytes, name: name, in: dirFD) {
                    written.insert(name)
                } else if failure == nil {
                    failure = problem(directory + "/" + name, "cannot be written")
                }
            }
        }
        // A file of a resource that is gone and cannot be removed would be
        // trusted under the new stamp: no stamp then.
        if failure == nil, let left = clear(dirFD, keeping: written) {
            failure = problem(directory + "/" + left, "cannot be removed")
        }
        if failure == nil, !write(encode(database: database, wal: wal, attributes: [:]), name: stampName, in: dirFD) {
            failure = problem(directory + "/" + stampName, "cannot be written")
        }
        return failure
    }

    /// Whether `name` in the directory `dirFD` holds exactly `bytes`, as a
    /// file this writer would leave (regular, the writer's, 0600).
    private static func holds(_ bytes: [UInt8], name: String, in dirFD: Int32) -> Bool {
        // O_NONBLOCK: a FIFO here fails the check below instead of blocking.
        let fd = openat(dirFD, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == geteuid(),
              st.st_mode & 0o7777 == 0o600, Int(st.st_size) == bytes.count else { return false }
        return readAll(fd, size: bytes.count) == bytes
    }

    private static func problem(_ path: String, _ what: String) -> String {
        "cannot refresh the CDB snapshot: \(path) \(what): \(String(cString: strerror(errno))); actions read the CDB instead"
    }

    /// CLOCK_REALTIME in ns, the clock file times come from.
    static func realtimeNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// Writes `bytes` to `name` in the directory `dirFD` whole or not at
    /// all: a temporary file (0600), then rename.
    private static func write(_ bytes: [UInt8], name: String, in dirFD: Int32) -> Bool {
        let temporary = ".tmp." + name
        _ = unlinkat(dirFD, temporary, 0)
        let fd = openat(dirFD, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { _ = unlinkat(dirFD, name, 0); return false }
        var done = 0
        let ok = bytes.withUnsafeBytes { raw -> Bool in
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { return false }
            }
            return true
        }
        close(fd)
        guard ok, renameat(dirFD, temporary, dirFD, name) == 0 else {
            _ = unlinkat(dirFD, temporary, 0)
            _ = unlinkat(dirFD, name, 0)
            return false
        }
        return true
    }

    /// Removes every entry of the directory `dirFD` not in `keeping`.
    /// Returns the first name that could not be removed (errno set), or nil.
    private static func clear(_ dirFD: Int32, keeping: Set<String>) -> String? {
        let copy = dup(dirFD)
        guard copy >= 0, let dir = fdopendir(copy) else { if copy >= 0 { close(copy) }; return "." }
        defer { closedir(dir) }
        var doomed: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name == "." || name == ".." || keeping.contains(name) { continue }
            doomed.append(name)
        }
        for name in doomed where unlinkat(dirFD, name, 0) != 0 && errno != ENOENT {
            // A directory in the way (unlinkat without AT_REMOVEDIR: EISDIR).
            if errno == EISDIR, unlinkat(dirFD, name, AT_REMOVEDIR) == 0 { continue }
            return name
        }
        return nil
    }
}
