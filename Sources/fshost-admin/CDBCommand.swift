// `fshost cdb ...`: the configuration database commands, in the style of
// FailSafe's cluster_mgr (define / modify / delete / show a resource),
// ha_get_info (get one attribute) and TOML import / export.
import ArgumentParser
import CDB
import HAVocabulary
import Management
import PluginLoading

/// The exit statuses every `cdb` subcommand documents.
private let exitStatuses = """
    EXIT STATUS
      0 done
      2 HA_INVAL_ARGS: bad command line, invalid name, unknown attribute,
        value of the wrong kind or out of its range, required attribute
        missing, resource already exists, unreadable or bad TOML file,
        --replace-all of a file without resources (see --allow-empty),
        an --output that is not a regular file, an import file that is not
        a regular file or is over 16 MiB
      3 HA_CMD_FAILED: the output (standard output or --output) could not
        be written; fshost could not tell whether a resource to remove or
        change runs
      4 HA_RUNNING: a resource to remove, or whose plugin attributes would
        change, runs on this node (see --force)
      5 HA_NOTSUPPORTED: unknown resource type (no plugin for it)
      6 HA_NOCFGINFO: no such resource, attribute not set; CDB missing,
        not initialised, damaged, insecure (writable by others) or of a
        newer schema
      7 HA_PLUGIN_REFUSED: the type's plugin failed a pre-load check
      9 HA_HOST_ERROR: a relative --cdb or $FSHOST_CDB (nothing done); or
        done in the CDB, but a removed resource's state directory could
        not be removed
    Errors are one line on stderr: fshost: <message>, with control
    characters escaped (\\n, \\x1B) and cut after 4 KiB.
    Durations: 250ms, 5s, 2m, 1h; a bare number is seconds; at most 24h.
    Bounds: <action>_timeout 1ms-24h, retry_interval 100ms-24h, retries 0-100.
    """

/// `fshost cdb`: the configuration database.
struct CDBCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cdb",
        abstract: "Manage the configuration database (CDB) of resources and their attributes.",
        discussion: """
        The CDB is a SQLite file, by default /var/lib/fshost/cdb.sqlite (or $FSHOST_CDB; \
        every subcommand takes --cdb PATH). It holds resources by type and name, their \
        attributes, and type-level overrides that every resource of a type inherits. \
        Values are checked against the type's plugin schema before anything is written, \
        and every change is one transaction: an action reading the CDB meanwhile sees the \
        old or the new configuration, never a mixture. The file and its directory must \
        belong to root (or the invoking user) and be writable by no one else.

        Names: a type is [a-z][a-z0-9_-]{0,30}; a resource 1-64 of [A-Za-z0-9_.-] \
        (it names lock and state files).

        \(exitStatuses)
        """,
        subcommands: [CDBDefine.self, CDBModify.self, CDBModifyType.self, CDBDelete.self,
                      CDBShow.self, CDBGet.self, CDBImport.self, CDBExport.self])
}

/// `--cdb PATH`, shared by every `cdb` subcommand.
struct CDBOptions: ParsableArguments {
    @Option(name: .customLong("cdb"),
            help: ArgumentHelp("The configuration database (default: $FSHOST_CDB, else /var/lib/fshost/cdb.sqlite).",
                               valueName: "PATH"))
    var path: String?

    /// The file to use.
    var resolvedPath: String { path ?? ConfigurationDatabase.defaultPath() }
}

/// What every `cdb` command does around its work.
enum CDBRun {
    /// Runs `body`; an ``AdminError`` becomes `fshost: <message>` on stderr
    /// and its exit status.
    static func perform(_ body: () throws(AdminError) -> Void) throws {
        do {
            try body()
        } catch {
            printError(error.description)
            throw ExitCode(error.exitStatus)
        }
    }

    /// Prints a warning line on stderr.
    static func warn(_ message: String) {
        printError("warning: " + message)
    }

    /// The database at `options`' path.
    ///
    /// - A relative path (`--cdb cdb.sqlite`, `FSHOST_CDB=db/cdb.sqlite`)
    ///   is refused with `HA_HOST_ERROR` (9), the action path's rule
    ///   (`HostPaths.checkAbsolute`): the admin would write one file and
    ///   the `fshost` it asks (and the cluster manager, from its own working
    ///   directory) would read another. So is a relative
    ///   `FSHOST_PLUGIN_PATH`, `FSHOST_RUN_DIR` or `FSHOST_STATE_DIR`.
    /// - Read-only (show, get, export, import --dry-run), a file without
    ///   an fshost schema (0 bytes, an empty SQLite database) is
    ///   ``CDBError/notInitialised(path:)`` (6), as for the action path:
    ///   "no resources" and an empty export with status 0 would read as an
    ///   empty but working CDB, and an empty backup as a good one.
    static func open(_ options: CDBOptions, _ mode: ConfigurationDatabase.Mode) throws(AdminError) -> ConfigurationDatabase {
        let path = options.resolvedPath
        guard path.hasPrefix("/") else {
            throw .host((options.path == nil ? "FSHOST_CDB" : "--cdb") + " (the configuration database) must be an "
                + "absolute path, not '\(path)': fshost refuses relative paths, which mean another file in every "
                + "working directory")
        }
        // The other paths the command uses (state directories it removes)
        // or hands to the fshost it asks: the same rule, checked before
        // anything is written, not after the CDB changed.
        var paths = HostPaths.fromEnvironment()
        paths.cdb = path
        do { try paths.checkAbsolute() } catch { throw .host(error.message) }
        let database: ConfigurationDatabase
        do { database = try ConfigurationDatabase(path: path, mode: mode) } catch { throw .database(error) }
        if case .readOnly = mode, database.schemaVersion == 0 { throw .database(.notInitialised(path: path)) }
        return database
    }

    /// An editor whose schemas come from the installed plugins.
    static func editor(_ options: CDBOptions, _ mode: ConfigurationDatabase.Mode) throws(AdminError) -> CDBEditor {
        CDBEditor(database: try open(options, mode), schemaFor: pluginSchema)
    }

    /// The schema of `type`'s plugin (found in `$FSHOST_PLUGIN_PATH` or the
    /// standard directories), with the host settings' defaults taken from
    /// its descriptor. Loading runs the plugin's entry point, after the
    /// loader's ELF checks.
    static func pluginSchema(_ type: String) throws -> AttributeSchema {
        let plugin: LoadedPlugin
        do {
            plugin = try BoundedPluginLoad.load(type: type, searchPath: .fromEnvironment())
        } catch {
            throw SchemaUnavailable(status: error.status, message: error.message)
        }
        var defaults = [
            HostSetting.monitorLevel: String(plugin.defaultLevel),
            HostSetting.retries: String(plugin.defaultRetries),
            HostSetting.retryInterval: "\(plugin.defaultRetryIntervalMilliseconds)ms",
        ]
        for action in ActionName.allCases {
            defaults[HostSetting.timeout(action.rawValue)] = "\(plugin.defaultTimeoutMilliseconds(action))ms"
        }
        return AttributeSchema(pluginSpecs: plugin.attributes, hostDefaults: defaults, levels: plugin.levels.map(\.number))
    }

    /// `key=value` words as a dictionary (the value may contain `=` and be
    /// empty; the key may not).
    static func assignments(_ words: [String]) throws(AdminError) -> [String: String] {
        var result: [String: String] = [:]
        for word in words {
            guard let equals = word.firstIndex(of: "="), equals != word.startIndex else {
                throw .usage("expected key=value, got '\(word)'")
            }
            let key = String(word[..<equals])
            guard result[key] == nil else { throw .usage("attribute '\(key)' given twice") }
            result[key] = String(word[word.index(after: equals)...])
        }
        return result
    }
}

struct CDBDefine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "define",
        abstract: "Define a new resource with its attributes.",
        discussion: """
        The attributes, with the type's defaults and type-level overrides, are checked \
        against the type's plugin schema first: unknown attributes, values of the wrong \
        kind and missing required attributes are refused, and nothing is written. The \
        resource must not exist (use modify to change one). Values are stored in \
        canonical form (durations in ms, booleans true/false, argv as a JSON array). \
        Leftover plugin state of an earlier resource of that name is removed.

        Example: fshost cdb define webserver web1 port=8080 'command=["/usr/sbin/nginx","-p","/srv/web1"]'

        A secret (a password) belongs on no command line (every local user reads \
        /proc/PID/cmdline): --value-from-stdin KEY reads KEY's value from standard input.

        \(exitStatuses)
        """)

    @OptionGroup var options: CDBOptions
    @Argument(help: "The resource type.") var type: String
    @Argument(help: "The new resource's name.") var resource: String
    @Argument(help: ArgumentHelp("Attributes to set.", valueName: "key=value")) var attributes: [String] = []
    @Option(name: .customLong("value-from-stdin"),
            help: ArgumentHelp("Read this attribute's value from standard input (its first line): a secret then appears on no command line.",
                               valueName: "key"))
    var valueFromStdin: String?

    func run() throws {
        try CDBRun.perform { () throws(AdminError) in
            let values = try ValueFromStdin.merge(valueFromStdin, into: CDBRun.assignments(attributes))
            let editor = try CDBRun.editor(options, .readWrite)
            try editor.define(type: type, resource: resource, attributes: values)
            ValueFromStdin.warnOfSecretsInArgv(attributes, type: type, editor: editor)
            // A new resource starts without state, whatever an earlier
            // resource of that name (deleted by an older fshost) left.
            try ResourceState.remove(type: type, resource: resource)
        }
    }
}

struct CDBModify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modify",
        abstract: "Set or unset attributes of an existing resource.",
        discussion: """
        The resource's attributes after the change (with type-level overrides and \
        defaults) are checked against the type's plugin schema; if they do not pass, \
        nothing is written. --unset removes the resource's own value, so the type-level \
        override or the default applies again; it also removes attributes the plugin no \
        longer knows.

        A resource that runs on this node keeps its plugin attributes: fshost finds and \
        stops it through them (a pidfile, a command, a port), and changed under it, the \
        next stop would look elsewhere and leave it running. So a change of any attribute \
        but the host settings (monitor_level, retries, retry_interval, <action>_timeout) \
        and the attributes the type declares monitor-only (fshost describe TYPE) \
        first asks fshost TYPE exclusive RESOURCE, as delete does: if it runs, nothing is \
        changed (status 4); if fshost cannot tell, nothing is changed (status 3). --force \
        changes it anyway and says what may be left running.

        Example: fshost cdb modify webserver web1 monitor_level=2 --unset monitor_timeout

        \(exitStatuses)
        """)

    @OptionGroup var options: CDBOptions
    @Argument(help: "The resource type.") var type: String
    @Argument(help: "The resource's name.") var resource: String
    @Argument(help: ArgumentHelp("Attributes to set.", valueName: "key=value")) var attributes: [String] = []
    @Option(name: .customLong("unset"), help: ArgumentHelp("An attribute to remove (repeatable).", valueName: "key"))
    var unset: [String] = []
    @Flag(name: .customLong("force"),
          help: "Change even if the resource runs on this node, or fshost cannot tell; its processes may be left running.")
    var force = false
    @Option(name: .customLong("value-from-stdin"),
            help: ArgumentHelp("Read this attribute's value from standard input (its first line): a secret then appears on no command line.",
                               valueName: "key"))
    var valueFromStdin: String?

    func run() throws {
        try CDBRun.perform { () throws(AdminError) in
            let values = try ValueFromStdin.merge(valueFromStdin, into: CDBRun.assignments(attributes))
            guard !values.isEmpty || !unset.isEmpty else { throw .usage("nothing to change: give key=value or --unset key") }
            let editor = try CDBRun.editor(options, .readWrite)
            var warnings: [String] = []
            // The type's schema says which of its attributes are monitor-only
            // (unknown: only the host settings change freely).
            let keys = RunningChange.keysNeedingStopped(Set(values.keys).union(unset), schema: try? editor.schema(for: type))
            // Asked after every check, inside the transaction: a bad value
            // is reported as such; fshost reads the CDB as it was.
            try editor.modify(type: type, resource: resource, set: values, unset: unset) { () throws(AdminError) in
                guard !keys.isEmpty else { return }
                warnings = try RunningCheck.refuseChanging([(ImportPlan.Name(type: type, name: resource), keys)],
                                                           cdb: options.resolvedPath, force: force)
            }
            for warning in warnings { CDBRun.warn(warning) }
            ValueFromStdin.warnOfSecretsInArgv(attributes, type: type, editor: editor)
        }
    }
}

struct CDBModifyType: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modify-type",
        abstract: "Set or unset type-level attributes: values every resource of the type inherits.",
        discussion: """
        A resource's own value wins over the type-level one, which wins over the \
        plugin's default. Every resource of the type is checked against the schema \
        after the change; if one fails, nothing is written. A change of a plugin attribute \
        (anything but the host settings) is refused while a resource it reaches (one \
        without its own value for the key) runs on this node, as for modify; --force \
        changes it anyway.

        Example: fshost cdb modify-type webserver monitor_timeout=3s --unset retries

        \(exitStatuses)
        """)

    @OptionGroup var options: CDBOptions
    @Argument(help: "The resource type.") var type: String
    @Argument(help: ArgumentHelp("Attributes to set.", valueName: "key=value")) var attributes: [String] = []
    @Option(name: .customLong("unset"), help: ArgumentHelp("An attribute to remove (repeatable).", valueName: "key"))
    var unset: [String] = []
    @Flag(name: .customLong("force"),
          help: "Change even if a resource of the type runs on this node, or fshost cannot tell.")
    var force = false

    func run() throws {
        try CDBRun.perform { () throws(AdminError) in
            let values = try CDBRun.assignments(attributes)
            guard !values.isEmpty || !unset.isEmpty else { throw .usage("nothing to change: give key=value or --unset key") }
            let editor = try CDBRun.editor(options, .readWrite)
            var warnings: [String] = []
            let keys = RunningChange.keysNeedingStopped(Set(values.keys).union(unset), schema: try? editor.schema(for: type))
            try editor.modifyType(type: type, set: values, unset: unset) { () throws(AdminError) in
                guard !keys.isEmpty else { return }
                // What the resources hold before the change (this
                // transaction's change is to type-level values only).
                let snapshot: [TypeConfiguration]
                do throws(CDBError) { snapshot = try editor.database.snapshot(type: type) } catch { throw .database(error) }
                // A resource with its own value for a key does not see the type-level one.
                let reached = snapshot.flatMap { entry in
                    entry.resources.keys.sorted().compactMap { name -> (name: ImportPlan.Name, keys: [String])? in
                        let own = entry.resources[name]!
                        let reaching = keys.filter { own[$0] == nil }.sorted()
                        return reaching.isEmpty ? nil : (ImportPlan.Name(type: type, name: name), reaching)
                    }
                }
                warnings = try RunningCheck.refuseChanging(reached, cdb: options.resolvedPath, force: force)
            }
            for warning in warnings { CDBRun.warn(warning) }
        }
    }
}

struct CDBDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a resource, its attributes and its plugin state.",
        discussion: """
        First asks the action path whether the resource runs on this node \
        (fshost TYPE exclusive RESOURCE): a resource deleted while it runs would be left \
        running with nothing able to stop it. If it runs, nothing is deleted (status 4); \
        if fshost cannot tell (no plugin for the type, a bad configuration, a timeout), \
        nothing is deleted (status 3). --force deletes anyway and says what is left running. \
        The resource's state directory (FSHOST_STATE_DIR/TYPE/RESOURCE) is removed with it, \
        so a new resource of that name does not inherit it.

        \(exitStatuses)
        """)

    @OptionGroup var options: CDBOptions
    @Argument(help: "The resource type.") var type: String
    @Argument(help: "The resource's name.") var resource: String
    @Flag(name: .customLong("force"),
          help: "Delete even if the resource runs on this node, or fshost cannot tell; its processes are left running.")
    var force = false

    func run() throws {
        try CDBRun.perform { () throws(AdminError) in
            let editor = try CDBRun.editor(options, .readWrite)
            guard try editor.exists(type: type, resource: resource) else {
                throw .database(.resourceNotFound(type: type, name: resource))
            }
            let warnings = try RunningCheck.refuseRemoving([ImportPlan.Name(type: type, name: resource)],
                                                           cdb: options.resolvedPath, force: force)
            try editor.delete(type: type, resource: resource)
            for warning in warnings { CDBRun.warn(warning) }
            try ResourceState.remove(type: type, resource: resource)
        }
    }
}

struct CDBShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show resources and their attributes.",
        discussion: """
        Without arguments, every type with its type-level attributes and resources; with \
        TYPE, that type; with TYPE RESOURCE, the resource's effective attributes, each \
        marked (type-level) or (default) when it is not the resource's own (defaults need \
        the type's plugin; without it they are left out, with a warning). Sorted by name; \
        the CDB is opened read-only. Secret attributes (the plugin says which) are shown \
        as (secret); `cdb get` of the one key prints the value. Control characters in \
        values are shown escaped (\\n, \\x1B), so a value cannot split a line or drive \
        the terminal; `cdb get` prints the raw value (it is for scripts).

        \(exitStatuses)
        """)

    @OptionGroup var options: CDBOptions
    @Argument(help: "Only this resource type.") var type: String?
    @Argument(help: "Only this resource.") var resource: String?

    func run() throws {
        try CDBRun.perform { () throws(AdminError) in
            let editor = try CDBRun.editor(options, .readOnly)
            if let type, let resource {
                var schema: AttributeSchema?
                do {
                    schema = try editor.schema(for: type)
                } catch {
                    schema = nil
                }
                let attributes = try editor.effectiveAttributes(type: type, resource: resource, schema: schema)
                    .map { entry in
                        (entry.key, schema?.spec(entry.key)?.isSecret == true ? SecretValues.placeholder : Self.shown(entry.value),
                         entry.source)
                    }
                if schema == nil { CDBRun.warn("no plugin for type '\(type)': defaults are not shown") }
                print(CDBReport.resource(type: type, name: resource, attributes: attributes), terminator: "")
            } else {
                if let type { do throws(CDBError) { try Names.checkType(type) } catch { throw .database(error) } }
                let snapshot: [TypeConfiguration]
                do throws(CDBError) { snapshot = try editor.database.snapshot(type: type) } catch { throw .database(error) }
                if snapshot.isEmpty {
                    print(type.map { "no resources of type \($0)" } ?? "no resources")
                } else {
                    let masked = SecretValues.masking(snapshot) { editor.isSecret(type: $0, key: $1) }
                    print(CDBReport.listing(masked.map(Self.shownEntry)), terminator: "")
                }
            }
        }
    }

    /// A value as `show` prints it: control characters escaped the way log
    /// lines escape them (``LogText``; `\n`, `\x1B`), so a stored value
    /// cannot split a line or drive the terminal (ESC `[2K` erased the
    /// line). Not cut: `show` is where a whole value is read. `cdb get`
    /// prints the raw value, for scripts.
    static func shown(_ value: String) -> String { LogText.clean(value, limit: .max) }

    static func shownEntry(_ entry: TypeConfiguration) -> TypeConfiguration {
        var entry = entry
        entry.typeAttributes = entry.typeAttributes.mapValues(shown)
        entry.resources = entry.resources.mapValues { $0.mapValues(shown) }
        return entry
    }
}

struct CDBGet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Print one attribute's value (what FailSafe's ha_get_info answered).",
        discussion: """
        Prints just the value the host will use: the resource's own, else the type-level \
        override, else the plugin's default (host settings such as monitor_timeout \
        included). Argv values print as a JSON array; a secret prints too (asking for \
        the one key is asking for it). Exits 6 when the attribute is not set and has no \
        default, 2 when the type has no such attribute.

        Example: port=$(fshost cdb get webserver web1 port)

        \(exitStatuses)
        """)

    @OptionGroup var options: CDBOptions
    @Argument(help: "The resource type.") var type: String
    @Argument(help: "The resource's name.") var resource: String
    @Argument(help: "The attribute.") var attribute: String

    func run() throws {
        try CDBRun.perform { () throws(AdminError) in
            print(try CDBRun.editor(options, .readOnly).value(type: type, resource: resource, key: attribute))
        }
    }
}

struct CDBImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import resources from a TOML file, all or nothing.",
        discussion: """
        One table per resource, [TYPE.RESOURCE], with typed values: strings; integers \
        (integer and port attributes); true/false; arrays of strings (argv); durations as \
        strings with a unit ("5s", "250ms", "2m"; a TOML integer is refused: it once meant \
        milliseconds). Keys directly under a \
        [TYPE] table are type-level attributes. A syntax error is reported with its line.

        Every resource is checked against its plugin's schema before anything is written; \
        if one fails (unknown attribute, wrong type, required attribute missing) nothing \
        is imported. A resource that already exists is replaced whole: its attributes \
        become exactly the file's. A [TYPE] table with keys of its own replaces that \
        type's type-level attributes. Resources not in the file are kept, unless \
        --replace-all: then the CDB afterwards holds exactly what the file holds, and the \
        removed resources' state directories go too. A --replace-all of a file without \
        resources (an empty or truncated backup) is refused unless --allow-empty. A resource \
        the import would remove is first asked whether it runs (fshost TYPE exclusive \
        RESOURCE), as for delete: if it runs or fshost cannot tell, nothing is imported, \
        unless --force. So is a resource that stays and whose plugin attributes (own or \
        type-level; anything but the host settings) the import changes, as for modify. \
        A secret the CDB holds for a resource or [TYPE] table of the file, and the file \
        leaves out (a default export leaves secrets out), is kept: export then import \
        changes nothing. --replace-secrets removes such secrets instead. Kept and removed \
        secrets are named in the summary and the dry run. --dry-run checks everything the \
        same way and lists what would be added, changed and removed, writing nothing; it \
        reads the CDB, which must exist and be initialised. The file must be a regular \
        file (or - for standard input) of at most 16 MiB.

        Example file:
          [webserver.web1]
          port = 8080
          monitor_timeout = "5s"
          command = ["/usr/sbin/nginx", "-p", "/srv/web1"]

        \(exitStatuses)
        """)

    @OptionGroup var options: CDBOptions
    @Argument(help: ArgumentHelp("The TOML file (- for standard input).", valueName: "FILE.toml")) var file: String
    @Flag(name: .customLong("replace-all"), help: "Remove every resource and type-level attribute the file does not have.")
    var replaceAll = false
    @Flag(name: .customLong("allow-empty"), help: "With --replace-all, accept a file without resources: empty the CDB.")
    var allowEmpty = false
    @Flag(name: .customLong("force"), help: "Remove resources even if they run on this node, or fshost cannot tell.")
    var force = false
    @Flag(name: .customLong("replace-secrets"),
          help: "Remove stored secrets the file leaves out (kept otherwise: an export leaves them out).")
    var replaceSecrets = false
    @Flag(name: .customLong("dry-run"), help: "Check, and list what would be added, changed and removed; write nothing.")
    var dryRun = false

    func run() throws {
        // Many resources take a while (each removal or running change asks
        // fshost whether it runs): on a terminal, say where it is.
        let progress = TerminalProgress()
        defer { progress.clear() }
        let shown = LogText.reason(file)
        try CDBRun.perform { () throws(AdminError) in
            progress.show("import \(shown): reading and checking")
            let root = try TOMLConfiguration.load(path: file)
            let cdb = options.resolvedPath
            var asked = 0
            /// RunningCheck.ask, counted on the progress line.
            func ask(_ name: ImportPlan.Name, of total: Int) -> RunningCheck.Answer {
                asked += 1
                progress.count("import \(shown): asking whether resources run:", asked, of: total)
                return RunningCheck.ask(type: name.type, resource: name.name, cdb: cdb)
            }
            if dryRun {
                let plan = try CDBRun.editor(options, .readOnly)
                    .planImport(root, replaceAll: replaceAll, allowEmpty: allowEmpty, replaceSecrets: replaceSecrets,
                                source: file)
                let total = plan.removed.count + plan.changedWhileRunningMatters.count
                let answers = plan.removed.map { ($0, ask($0, of: total)) }
                let changeAnswers = plan.changedWhileRunningMatters.keys.sorted().map { name in
                    (name, plan.changedWhileRunningMatters[name]!, ask(name, of: total))
                }
                progress.clear()
                var running = Dictionary(uniqueKeysWithValues: answers)
                for (name, _, answer) in changeAnswers { running[name] = answer }
                try StandardOutput.write(plan.report { name in
                    switch running[name] {
                    case .running(let reason)?: return "runs on this node: \(reason)"
                    case .unknown(let why)?: return "cannot tell whether it runs: \(why)"
                    default: return nil
                    }
                })
                // The status the import would end with: a removal it would
                // refuse fails the dry run too.
                do throws(AdminError) {
                    _ = try RunningCheck.refuseRemoving(answers, force: force)
                    _ = try RunningCheck.refuseChanging(changeAnswers, force: force)
                } catch {
                    throw .importFailed(file: file, error)
                }
                return
            }
            let editor = try CDBRun.editor(options, .readWrite)
            var warnings: [String] = []
            var removed: [ImportPlan.Name] = []
            var added: [ImportPlan.Name] = []
            let summary = try editor.importConfiguration(root, replaceAll: replaceAll, allowEmpty: allowEmpty,
                                                         replaceSecrets: replaceSecrets,
                                                         source: file) { (plan: ImportPlan) throws(AdminError) in
                let total = plan.removed.count + plan.changedWhileRunningMatters.count
                let answers = plan.removed.map { ($0, ask($0, of: total)) }
                warnings = try RunningCheck.refuseRemoving(answers, force: force)
                let changes = plan.changedWhileRunningMatters.keys.sorted().map {
                    ($0, plan.changedWhileRunningMatters[$0]!, ask($0, of: total))
                }
                warnings += try RunningCheck.refuseChanging(changes, force: force)
                removed = plan.removed
                added = plan.added
                progress.show("import \(shown): writing")
            }
            progress.clear()
            for warning in warnings { CDBRun.warn(warning) }
            var line = "imported \(LogText.reason(file)): \(summary.defined) defined, \(summary.replaced) replaced"
            if replaceAll { line += ", \(summary.removed) removed" }
            if !summary.keptSecrets.isEmpty {
                line += "; secrets not in the file kept: " + summary.keptSecrets.joined(separator: ", ")
            }
            if !summary.removedSecrets.isEmpty {
                line += "; secrets not in the file removed: " + summary.removedSecrets.joined(separator: ", ")
            }
            print(line)
            // Removed resources take their state with them; new ones start clean.
            for (index, name) in (removed + added).enumerated() {
                progress.count("import \(shown): clearing state directories:", index + 1, of: removed.count + added.count)
                try ResourceState.remove(type: name.type, resource: name.name)
            }
        }
    }
}

struct CDBExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export resources as TOML (what import reads).",
        discussion: """
        One table per resource, [TYPE.RESOURCE] (and [TYPE] for type-level attributes), \
        sorted, keys sorted, values typed by the plugin's schema: integers and ports as \
        TOML integers, booleans as true/false, argv as arrays of strings, everything else \
        (durations in ms) as strings. Exporting, importing and exporting again gives the \
        same bytes. A type whose plugin cannot be loaded is exported with string values \
        and a warning. --output writes the file atomically and privately: a new file of mode \
        0600 in the same directory, fsync, rename. It replaces only a regular file: a \
        symbolic link, device, directory or FIFO is refused (status 2). A write that fails \
        (a full disk, > /dev/full) is status 3, never a silent 0. \
        Secret values are left out (a warning names each key; importing such a file \
        keeps the stored values, see import) unless --include-secrets. A temporary \
        file left by an export that was killed (.FILE.tmp-PID-XXXXXX, its writer gone) \
        is removed by the next export to FILE.

        \(exitStatuses)
        """)

    @OptionGroup var options: CDBOptions
    @Argument(help: "Only this resource type.") var type: String?
    @Option(name: .customLong("output"), help: ArgumentHelp("Write to this file instead of standard output.", valueName: "FILE"))
    var output: String?
    @Flag(name: .customLong("include-secrets"), help: "Also write secret values (left out otherwise, each named in a warning).")
    var includeSecrets = false

    func run() throws {
        try CDBRun.perform { () throws(AdminError) in
            let (text, warnings) = try CDBRun.editor(options, .readOnly).export(type: type, includeSecrets: includeSecrets)
            for warning in warnings { CDBRun.warn(warning) }
            if let output, output != "-" {
                try OutputFile.writeAtomically(text, to: output)
            } else {
                try StandardOutput.write(text)
            }
        }
    }
}
