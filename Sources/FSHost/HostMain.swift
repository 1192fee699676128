#if canImport(Glibc)
import Glibc
#endif

/// Words `fshost` always hands to `fshost-admin`, even if a type had that name.
let adminCommands: Set<String> = ["list", "describe", "check", "cdb", "scaffold", "verify", "help"]

/// The `fshost` executable: `fshost <type> <action> <resource>`, `fshost
/// exec2 …`, and the management commands, which it hands to
/// `fshost-admin`. A first word that is neither a type nor a command is an
/// unknown type (status 5), answered here without starting the admin tool.
/// Returns the exit status.
public func fshostMain(_ arguments: [String]) -> Int32 {
    let words = Array(arguments.dropFirst())
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
    default:
        break
    }
    let paths = HostPaths.fromEnvironment()
    if adminCommands.contains(first) || first == "--version" {
        return execAdmin(paths: paths, arguments: words)
    }
    do {
        let request = try ActionRequest.parse(words)
        return ActionRunner(paths: paths).run(request).rawValue
    } catch {
        Logger(prefix: "").error(error.message)
        // --json anywhere on the line: the caller parses stdout, so it gets
        // its one object for a command-line error too.
        if words.contains("--json") { Logger.writeStdout(commandLineErrorJSON(words, error) + "\n") }
        return error.status
    }
}

/// The `--json` object of a command line that could not be parsed: the
/// words in the places of type, action and resource (null when absent),
/// the status and the reason.
func commandLineErrorJSON(_ words: [String], _ error: HostError) -> String {
    var positional: [String] = []
    var i = 0
    while i < words.count {
        if words[i] == "--level" || words[i] == "--timeout" { i += 2; continue }
        if !words[i].hasPrefix("--") { positional.append(words[i]) }
        i += 1
    }
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

let usageText = """
usage: fshost <type> <action> <resource> [--level N] [--timeout DURATION] [--json]
       fshost exec2 -s SIGNAL -t STRING | fshost exec2 [-p WAIT] TIMEOUT RETRIES COMMAND [ARG...]
       fshost list | describe TYPE | check FILE | cdb ... | scaffold NAME | verify TYPE RESOURCE
Run 'fshost --help' for the actions, options and exit statuses.

"""

/// `fshost --help`: everything a cluster manager's author or an operator
/// needs, including every exit status.
var helpText: String {
    let statuses = ExitStatus.allCases.map { s in
        let code = String(s.rawValue)
        let name = s.name + String(repeating: " ", count: max(1, 18 - s.name.count))
        return "  \(code)  \(name)\(s.meaning)"
    }.joined(separator: "\n")
    return """
    fshost — runs the actions of a high-availability cluster's resources through
    one plugin per resource type. The exit status is the answer.

    USAGE
      fshost <type> <action> <resource> [--level N] [--timeout DURATION] [--json]

    ACTIONS
      exclusive  is the resource running on this node? (HA_RUNNING / HA_NOT_RUNNING)
      start      start it; starting a running resource succeeds
      stop       stop it; stopping a stopped resource succeeds
      monitor    is it present and responding, at the monitoring level
      restart    local restart (the type's own, or stop then start)
      validate   check the resource's configuration

    OPTIONS
      --level N           monitoring level (default: the resource's, else the type's)
      --timeout DURATION  deadline of the action: 250ms, 5s, 2m (default: the
                          resource's <action>_timeout, else the type's)
      --json              also print the result as one JSON object on stdout

    EXIT STATUS
    \(statuses)

    OTHER COMMANDS
      fshost exec2 -s SIGNAL -t STRING     signal processes whose name or arguments
                                           contain STRING (FailSafe's ha_exec2)
      fshost exec2 [-p WAIT] TIMEOUT RETRIES COMMAND [ARG...]
      fshost list | describe TYPE | check FILE | cdb ... | scaffold NAME | verify ...
                                           management (fshost-admin; see 'fshost help')

    ENVIRONMENT
      FSHOST_PLUGIN_PATH  plugin directories, colon-separated
                          (default: <prefix>/lib/fshost/resource_types, then the
                          executable's own directory)
      FSHOST_CDB          configuration database (default /var/lib/fshost/cdb.sqlite)
      FSHOST_RUN_DIR      lock files (default /run/fshost)
      FSHOST_STATE_DIR    plugin state (default /var/lib/fshost/state)
      FSHOST_ADMIN        the management executable
      FSHOST_DEBUG        also log debug lines (commands run, probes)

    """
}
