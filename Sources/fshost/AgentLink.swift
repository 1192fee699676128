import HAVocabulary
#if canImport(Glibc)
import Glibc
#endif

/// fshost called through one of the links `make install` lays out, read
/// from the name it was called by (argv[0]), so a cluster manager runs
/// fshost itself, with no shell between:
///
/// - `…/resource_types/<type>/<action>` (FailSafe's directory form; srmd
///   passes `IN OUT [P]`) → `fshost <type> <action> IN OUT [P]`;
/// - `…/resource.d/<provider>/<type>` (an OCF agent; Pacemaker passes the
///   action) → `fshost ocf <type> <action>`.
///
/// A bare name (no slash: run through `PATH`) is looked up in `PATH` first.
/// The directory form with IN alone (no OUT: optional per IRIX FailSafe)
/// is batch mode without an output file (`--no-outfile`). Any other name
/// (`fshost`, a link of another name) is the ordinary command line. The name selects only what the caller could have typed.
enum AgentLink {
    /// The words to dispatch (what follows `fshost`), from the whole argv.
    static func words(_ arguments: [String]) -> [String] {
        let rest = Array(arguments.dropFirst())
        guard let name = arguments.first else { return rest }
        // The common call (`/usr/sbin/fshost`, as a cluster manager runs it):
        // no path to split on every action. (`…/resource.d/P/fshost` would be
        // an agent of a type named fshost.)
        if name == "fshost" || name.hasSuffix("/fshost") && !holdsBytes(name, "/resource.d/") { return rest }
        // A relative name (`./start`, run from the type's directory) is
        // read from the working directory; `.` parts are dropped.
        var path = name
        if !name.contains("/") {
            // Called through PATH (argv[0] is the bare name): the first PATH
            // entry with an executable of that name is where it was found,
            // as execvp(3) looks.
            guard name != "fshost", let found = searchPath(name) else { return rest }
            path = found
        } else if !name.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            if getcwd(&buffer, buffer.count) != nil {
                path = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/" + name
            }
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init).filter { $0 != "." }
        guard parts.count >= 3 else { return rest }
        let last = parts[parts.count - 1], parent = parts[parts.count - 2], grandparent = parts[parts.count - 3]
        if grandparent == "resource_types", ActionName(rawValue: last) != nil, Names.isValidType(parent) {
            // IN alone (IRIX FailSafe calls the output file optional,
            // FAILSAFE-NOTES §2): batch mode whose only answer is the exit status.
            if rest.count == 1 { return [parent, last, "--infile", rest[0], "--no-outfile"] }
            return [parent, last] + rest
        }
        if grandparent == "resource.d", Names.isValidType(last) {
            return ["ocf", last] + rest
        }
        return rest
    }

    /// Whether `text` holds `needle` (bytes, `strstr`). For the common
    /// call's test above: `containsText`, generic and unspecialised here,
    /// cost ~150 µs of first-use witness lookups per call (perf, issue 16).
    /// An ASCII needle of whole `/`-bounded parts matches the same paths.
    static func holdsBytes(_ text: String, _ needle: StaticString) -> Bool {
        text.withCString { strstr($0, UnsafeRawPointer(needle.utf8Start).assumingMemoryBound(to: CChar.self)) != nil }
    }

    /// `name` looked up in `PATH` (execvp's order; an empty entry is the
    /// working directory): the first executable regular file, or nil.
    static func searchPath(_ name: String) -> String? {
        guard let value = getenv("PATH") else { return nil }
        for entry in String(cString: value).split(separator: ":", omittingEmptySubsequences: false) {
            var directory = entry.isEmpty ? "." : String(entry)
            if !directory.hasPrefix("/") {
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                guard getcwd(&buffer, buffer.count) != nil else { continue }
                let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                directory = cwd + "/" + directory
            }
            let candidate = directory + "/" + name
            var st = stat()
            if stat(candidate, &st) == 0, st.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
