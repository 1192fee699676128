import FSHost
import HAVocabulary
import PluginLoading
#if canImport(Glibc)
import Glibc
#endif

/// Words `fshost` always hands to `fshost-admin`, even if a type had that
/// name. A switch, not a `Set<String>`: no hashing machinery to set up on
/// every action (issue 16's "small ones").
func isAdminCommand(_ word: String) -> Bool {
    switch word {
    case "list", "describe", "check", "cdb", "scaffold", "verify", "status", "help", "--version": return true
    default: return false
    }
}

/// The dispatch of the `fshost` executable: `fshost <type> <action> <resource>`, `fshost
/// exec2 …`, `fshost lock …`, and the management commands, which it hands to
/// `fshost-admin`. A first word that is neither a type nor a command is an
/// unknown type (status 5), answered here without starting the admin tool.
/// Returns the exit status.
func fshostMain(_ arguments: [String]) -> Int32 {
    let words = AgentLink.words(arguments)   // the installed FailSafe and OCF links
    guard let first = words.first else {
        Logger.writeStderr(usageText)
        return ExitStatus.invalidArguments.rawValue
    }
    switch first {
    case "-h", "--help":
        Logger.writeStdout(helpText)
        return 0
    case "exec2":
        return exec2Main(Array(words.dropFirst()))
    case "lock":
        return lockMain(Array(words.dropFirst()))
    case "ocf":
        return OCFAgent(paths: HostPaths.fromEnvironment()).main(Array(words.dropFirst()))
    default:
        break
    }
    let paths = HostPaths.fromEnvironment()
    if isAdminCommand(first) {
        return execAdmin(paths: paths, arguments: words)
    }
    // FailSafe's batch form (srmd's IN/OUT files): BatchRun.swift.
    if BatchRequest.isBatch(words) { return batchMain(words) }
    do {
        let request = try ActionRequest.parse(words)
        return ActionRunner(paths: paths).run(request).rawValue
    } catch {
        // The action's fields as far as the words give them (`-` where
        // absent), then the final line's `status= ms= reason=`: greppable
        // like every action's line, in syslog too.
        let positional = positionalWords(words)
        func word(_ n: Int) -> String { n < positional.count ? Names.printable(positional[n]) : "-" }
        Logger.action(type: word(0), resource: word(2), action: word(1))
            .logFields(LOG_ERR, LogFields.field("status", error.exitStatus.name) + " ms=0 reason=" + LogText.reason(error.message))
        // --json anywhere on the line: the caller parses stdout, so it gets
        // its one object for a command-line error too.
        if words.contains("--json") { Logger.writeStdout(commandLineErrorJSON(words, error) + "\n") }
        return error.status
    }
}

/// The words of an action's command line that are not options nor their
/// values: type, action, resource, in that order when present.
func positionalWords(_ words: [String]) -> [String] {
    var positional: [String] = []
    var i = 0
    while i < words.count {
        if ["--level", "--timeout", "--retries"].contains(words[i]) { i += 2; continue }
        if !words[i].hasPrefix("--") { positional.append(words[i]) }
        i += 1
    }
    return positional
}

/// The `--json` object of a command line that could not be parsed: the
/// words in the places of type, action and resource (null when absent),
/// the status and the reason.
func commandLineErrorJSON(_ words: [String], _ error: HostError) -> String {
    let positional = positionalWords(words)
    func field(_ n: Int) -> JSONLine { n < positional.count ? .string(LogText.line(positional[n])) : .null }
    return JSONLine.object([
        ("type", field(0)), ("resource", field(2)), ("action", field(1)), ("level", .null),
        ("status", .string(error.exitStatus.name)), ("code", .number(Int64(error.status))),
        ("reason", .string(LogText.reason(error.message))), ("elapsed_ms", .number(0)),
    ])
}

/// Replaces this process with `fshost-admin`, the way `git foo` runs
/// `git-foo` — once it passed ``TrustedExecutable``'s check (it runs as
/// root: another user's file, or one in a directory another user can
/// write, is refused with status 9), and exactly the file that was checked.
func execAdmin(paths: HostPaths, arguments: [String]) -> Int32 {
    let admin: TrustedExecutable
    do throws(HostError) {
        admin = try TrustedExecutable.open(paths.admin, what: "FSHOST_ADMIN (the management executable)")
    } catch {
        Logger(prefix: "").error("management commands unavailable: " + error.message)
        return error.status
    }
    paths.export()
    admin.exec(["fshost"] + arguments)
    let why = String(cString: strerror(errno))
    Logger(prefix: "").error("management commands unavailable: \(paths.admin): \(why)")
    return ExitStatus.invalidArguments.rawValue
}
