// Every file a reload of Ganesha's config reads, found by the walk its
// lexer follows (src/config_parsing/conf_lex.l, 4.3): the config, each
// `%include` (relative names from the config's directory, new_file) and
// each regular file of each `%dir` (process_dir: d_type DT_REG only, so a
// symlink in it is never read; a glob as the last component narrows the
// files, here every regular file is taken), recursively. Each is read
// through the one trust rule the config passes (ExportsDirectory.readTrusted:
// the directory chain without symlinks, the file root's or the euid's,
// writable by neither group nor others, at most 1 MiB), and so is each
// `%dir` (openChain). A reload loads whatever these files say as root: a
// file another user can write is an export of `/` with no_root_squash
// (the second review of issue 10, finding 1), so start, stop and validate
// refuse before any SIGHUP or server start while one is not trusted.
import FSKit
import TrustedPaths
#if canImport(Glibc)
import Glibc
#endif

struct ReloadSet {
    struct File {
        let path: String
        let bytes: [UInt8]
        /// The `%dir` it was found in; nil for the config and `%include` files.
        let directory: String?
    }

    /// In the walk's order: the config first, then depth first in the
    /// order each file names them (Ganesha's reading order, for settings
    /// where the last one wins).
    let files: [File]

    /// The walk from `config`, `%include`s at most 8 deep. With
    /// `directories` false, `%dir`s are not read (the monitor's
    /// Mount_Path_Pseudo question: core parameters live in the config and
    /// its includes). A missing `%include` is skipped: Ganesha's parser
    /// reports it (GaneshaParser), naming the line. Fails with one line
    /// naming the first file or directory that is not trusted or cannot
    /// be read.
    static func read(config: String, directories: Bool = true) -> Result<ReloadSet, ExportsDirectory.Refusal> {
        var files: [File] = []
        var seen: Set<String> = []
        var pending: [(path: String, depth: Int, directory: String?)] = [(config, 0, nil)]
        let base = PathTrust.parent(of: config)
        func refuse(_ what: String, _ why: String) -> Result<ReloadSet, ExportsDirectory.Refusal> {
            .failure(ExportsDirectory.Refusal(text: "\(what): \(why) (a reload reads it; refused before any reload or change)"))
        }
        while let next = pending.popLast() {
            guard seen.insert(next.path).inserted else { continue }
            let what = next.path == config ? "attribute 'config': \(config)"
                : next.directory.map { "file \(next.path) of %dir \($0)" } ?? "%include file \(next.path) of \(config)"
            var st = stat()
            if next.directory == nil, next.path != config, lstat(next.path, &st) != 0, errno == ENOENT { continue }
            let bytes: [UInt8]
            switch ExportsDirectory.readTrusted(next.path) {
            case .success(let b): bytes = b
            case .failure(let why): return refuse(what, why.text)
            }
            files.append(File(path: next.path, bytes: bytes, directory: next.directory))
            guard next.depth < 8 else { continue }
            let scan = GaneshaConfigScan(bytes)
            var children: [(path: String, depth: Int, directory: String?)] = scan.includes.map {
                ($0.hasPrefix("/") ? $0 : base + "/" + $0, next.depth + 1, nil)
            }
            if directories {
                for named in scan.directories {
                    var dir = named.hasSuffix("/") && named.count > 1 ? String(named.dropLast()) : named
                    let last = String(dir.split(separator: "/").last ?? "")
                    if last.contains(where: { "*?[".contains($0) }) { dir = PathTrust.parent(of: dir) }
                    switch ExportsDirectory.openChain(dir, holding: 1) {
                    case .success(let chain): close(chain.parent); close(chain.directory)
                    case .failure(let why): return refuse("%dir \(dir) of \(config)", why.text)
                    }
                    children += regularFiles(of: dir).map { ($0, next.depth + 1, dir) }
                }
            }
            pending += children.reversed()
        }
        return .success(ReloadSet(files: files))
    }

    /// The regular files of `directory` (lstat: a symlink is not one), sorted.
    static func regularFiles(of directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var paths: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." { continue }
            var st = stat()
            let path = directory + "/" + name
            if lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG { paths.append(path) }
        }
        return paths.sorted()
    }
}
