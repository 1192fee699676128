import HAVocabulary

/// What `fshost` prints for a missing command line.
let usageText = """
usage: fshost <type> <action> <resource> [--level N] [--timeout DURATION] [--retries N] [--json]
       fshost <type> <action> --infile IN --outfile OUT [--paramfile P] | IN OUT [P]   (FailSafe batch)
       fshost ocf <type> <OCF action>                                                   (OCF agent)
       fshost exec2 -s SIGNAL -t STRING | fshost exec2 [-p WAIT] TIMEOUT RETRIES COMMAND [ARG...]
       fshost list | describe TYPE | check FILE | cdb ... | scaffold NAME | verify TYPE RESOURCE | status
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
      fshost <type> <action> <resource> [--level N] [--timeout DURATION] [--retries N] [--json]

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
      --retries N         monitor: extra probes before a failure, 0-100 (default:
                          the resource's retries, else the type's)
      --json              also print the result as one JSON object on stdout

    EXIT STATUS
    \(statuses)

    FAILSAFE BATCH MODE (ha_srmd)
      fshost <type> <action> --infile IN --outfile OUT [--paramfile P] [--parallel N]
      fshost <type> <action> IN OUT [P]
                          every `name [flags]` line of IN runs as its own
                          `fshost <type> <action> name` (at most N at once:
                          --parallel, FSHOST_BATCH_PARALLEL, default 8); OUT gets
                          one `name status` line per IN line, in order, written
                          whole (beside, then renamed). Exit: 0 if every line
                          is 0, else the first non-zero one; 2 bad call or IN;
                          9 OUT cannot be written (nothing ran); 3 ended by TERM.

    OCF RESOURCE AGENT (Pacemaker)
      fshost ocf <type> start|stop|monitor|validate-all|meta-data|notify
                          parameters from OCF_RESKEY_*, OCF_RESOURCE_INSTANCE,
                          OCF_CHECK_LEVEL 0/10/20… = the type's 1st/2nd/3rd… level,
                          OCF_RESKEY_CRM_meta_timeout; OCF return codes.

    OTHER COMMANDS
      fshost exec2 -s SIGNAL -t STRING     signal processes whose name or arguments
                                           contain STRING (FailSafe's ha_exec2)
      fshost exec2 [-p WAIT] TIMEOUT RETRIES COMMAND [ARG...]
      fshost lock TYPE RESOURCE [--timeout DURATION] -- COMMAND [ARG...]
                                           run COMMAND under the resource's action
                                           lock (scriptlib's ha_execute_lock)
      fshost list | describe TYPE | check FILE | cdb ... | scaffold NAME | verify ... | status
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
