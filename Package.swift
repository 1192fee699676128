// swift-tools-version:6.1
//
// fshost — one host program for the actions of a high-availability cluster,
// with one plugin (a shared object) per resource type.
//
// The action path (`fshost`) links no Foundation and no parser libraries: it
// starts on every monitor call (docs/ARCHITECTURE.md §1, §7). Management lives in
// `fshost-admin`, which `fshost` execs for any first word that is not a type.
import PackageDescription

/// A resource-type plugin: one target under `Plugins/` named like its
/// `ResourceType`, linking the SDK statically. The build-tool plugin
/// generates its ELF record and entry point; its product (`lib<type>.so`,
/// the target's name in lower case) is derived below from `plugins`.
func resourceType(_ name: String, path: String, dependencies: [Target.Dependency] = [],
                  exclude: [String] = []) -> Target {
    .target(name: name, dependencies: ["FSKit"] + dependencies, path: path, exclude: exclude,
            plugins: ["FSPluginRecordPlugin"])
}

/// A companion object `<type>-<name>.so` of a resource type: serves one
/// typed call (`call`, a companion-call target) for its plugin; the build
/// generates its C export and its record (with the call's signature).
func companion(_ name: String, call: String, path: String, dependencies: [Target.Dependency] = []) -> Target {
    .target(name: name, dependencies: ["FSKit", .target(name: call)] + dependencies, path: path,
            plugins: ["FSPluginRecordPlugin"])
}

/// The declaration of one typed companion call (a target named like the
/// call type, ending in `Call`), depended on by the plugin and its
/// companion; the build generates its signature.
func companionCall(_ name: String, path: String) -> Target {
    .target(name: name, dependencies: ["FSKit"], path: path, plugins: ["FSPluginRecordPlugin"])
}

/// Every resource type and companion: adding a plugin is one line here
/// (`make install` takes the built types from `fshost list --names`).
let plugins: [Target] = [
    resourceType("Template", path: "Plugins/Template"),
    // WebServer: levels 1-2 must not pay libcurl's load cost, so the plugin
    // does not link it; level 3 calls its companion below.
    resourceType("WebServer", path: "Plugins/WebServer", dependencies: ["HTTPProbeCall"],
                 exclude: ["HTTPProbe", "HTTPProbeCall", "README.md"]),
    companion("webserver-http", call: "HTTPProbeCall", path: "Plugins/WebServer/HTTPProbe", dependencies: ["CCurl"]),
    // Database (PostgreSQL): libpq only in the companion, so level 1 never loads it.
    resourceType("Database", path: "Plugins/Database", dependencies: ["PostgresCall", "SCRAMCall"],
                 exclude: ["LibPQ", "PostgresCall", "SCRAMCrypto", "SCRAMCall", "README.md"]),
    companion("database-libpq", call: "PostgresCall", path: "Plugins/Database/LibPQ", dependencies: ["CLibPQ"]),
    // The builtin client's SCRAM crypto (libnettle), loaded only when a server asks for SCRAM.
    companion("database-scram", call: "SCRAMCall", path: "Plugins/Database/SCRAMCrypto", dependencies: ["CNettle"]),
    // NFS: levels 2-3 use libnfs, in the companion only (level 1 never loads it).
    resourceType("NFS", path: "Plugins/NFS", dependencies: ["NFSClientCall", "CGaneshaParse"], exclude: ["NFSClient", "NFSClientCall"]),
    companion("nfs-client", call: "NFSClientCall", path: "Plugins/NFS/NFSClient", dependencies: ["CNFS"]),
    // Test-only (hangs, fails on demand, a schema with every constraint):
    // built under Tests/, so its record is marked test-only.
    resourceType("TestFixture", path: "Tests/Plugins/TestFixture", dependencies: ["EchoCall"]),
    companion("testfixture-echo", call: "EchoCall", path: "Tests/Plugins/TestFixtureEcho"),
    // LogWriter: a program judged by the log it writes (issue 12).
    resourceType("LogWriter", path: "Plugins/LogWriter", exclude: ["README.md"]),
    // IPFilter: level 0 (the default) must not load libnftables, so the
    // plugin does not link it; start, stop, exclusive and level 1 call its companion.
    resourceType("IPFilter", path: "Plugins/IPFilter", dependencies: ["NftablesCall", "TrustedPaths", "CSystemShims"],
                 exclude: ["Nftables", "NftablesCall", "README.md"]),
    companion("ipfilter-nft", call: "NftablesCall", path: "Plugins/IPFilter/Nftables", dependencies: ["CNftables"]),
    // Test-only (fshost verify, issue 14): an honest sleep process and one
    // plugin per lie it must name, all built on LiarKit's SleeperType.
    resourceType("Sleeper", path: "Tests/Plugins/Sleeper", dependencies: ["LiarKit"]),
    resourceType("LiarMonitor", path: "Tests/Plugins/LiarMonitor", dependencies: ["LiarKit"]),
    resourceType("LiarStop", path: "Tests/Plugins/LiarStop", dependencies: ["LiarKit"]),
    resourceType("LiarStart", path: "Tests/Plugins/LiarStart", dependencies: ["LiarKit"]),
    resourceType("LiarExclusive", path: "Tests/Plugins/LiarExclusive", dependencies: ["LiarKit"]),
    resourceType("BadDescriptor", path: "Tests/Plugins/BadDescriptor"),
    // Daemon: any foreground program, from the SDK's daemon lifecycle (issue 14 item 7).
    resourceType("Daemon", path: "Plugins/Daemon"),
    // Test-only (fshost verify's review): a lone "none" level, a stop that
    // keeps state, an undeclared detached process, a slow monitor, a hanging load.
    resourceType("LiarNone", path: "Tests/Plugins/LiarNone"),
    resourceType("LiarStopState", path: "Tests/Plugins/LiarStopState", dependencies: ["LiarKit"]),
    resourceType("LiarUndeclared", path: "Tests/Plugins/LiarUndeclared", dependencies: ["LiarKit"]),
    resourceType("SlowSleeper", path: "Tests/Plugins/SlowSleeper", dependencies: ["LiarKit"]),
    resourceType("HangLoad", path: "Tests/Plugins/HangLoad"),
]

let package = Package(
    name: "fshost",
    products: [
        .executable(name: "fshost", targets: ["fshost"]),
        .executable(name: "fshost-admin", targets: ["fshost-admin"]),
        .library(name: "FSKit", targets: ["FSKit"]),
        .plugin(name: "FSPluginRecordPlugin", targets: ["FSPluginRecordPlugin"]),
    ] + plugins.map {
        // lib<type>.so, installed as <type>.so.
        .library(name: $0.name.lowercased(), type: .dynamic, targets: [$0.name])
    },
    dependencies: [
        // Management path only (fshost-admin): never linked into `fshost`.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // ---- The boundary --------------------------------------------------
        .target(name: "FSPluginABI"),
        // The words every module shares: exit statuses (FailSafe names, OCF
        // codes), actions, attribute kinds, names, durations, the clock.
        .target(name: "HAVocabulary"),
        .target(name: "PluginRecord", dependencies: ["HAVocabulary"]),
        .target(name: "ArgvText"),
        // A value behind a pthread mutex: the host's Mutex/Atomic without
        // libswiftSynchronization (one library less on every action).
        .target(name: "HostLock"),
        // The StrictModes rule for every path fshost trusts (plugins, CDB, locks, state).
        .target(name: "TrustedPaths"),
        .executableTarget(name: "FSPluginRecordGen", dependencies: ["FSPluginABI", "PluginRecord"]),
        .plugin(name: "FSPluginRecordPlugin", capability: .buildTool(),
                dependencies: ["FSPluginRecordGen"], path: "Sources/FSPluginRecordPlugin"),

        // ---- System libraries (shim headers for variadics and macros) ------
        // libelf is loaded on first use (dlopen), not linked: a remembered
        // verification (ELFCheck's VerificationCache) does not read the file.
        .target(name: "CElf"),
        // SQLite is loaded on first use (dlopen), not linked: the action path
        // reads the CDB's snapshot and needs it only on the slow path.
        .target(name: "CSQLite"),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CSystemShims"),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // libnettle (SHA-256, HMAC, PBKDF2) for the database plugin's SCRAM companion only.
        .systemLibrary(name: "CNettle", pkgConfig: "nettle", providers: [.apt(["nettle-dev"])]),
        // libnfs for the nfs plugin's companion; linked by its soname: the
        // nfs plugin itself is built as libnfs.so in the products directory.
        .systemLibrary(name: "CNFS", providers: [.apt(["libnfs-dev"])]),
        // The nfs plugin's forked child that runs Ganesha's own config
        // parser (dlopen of the server's library): C only after the fork.
        .systemLibrary(name: "CGaneshaParse"),

        // ---- Host building blocks ------------------------------------------
        .target(name: "ELFCheck", dependencies: ["CElf", "FSPluginABI", "PluginRecord", "TrustedPaths", "CSystemShims"]),
        .target(name: "ProcScan", dependencies: ["CSystemShims", "TrustedPaths", "HostLock"]),
        .target(name: "Spawn", dependencies: ["CSystemShims", "HAVocabulary", "HostLock"]),
        // The configuration database: schema, migrations, reads, writes, the attribute schema.
        .target(name: "CDB", dependencies: ["CSQLite", "ArgvText", "HAVocabulary", "TrustedPaths"]),
        // What the admin tool does with the CDB: checked edits, TOML mapping,
        // import plans, reports, its errors. Never linked into `fshost`.
        .target(name: "Management", dependencies: ["CDB", "HAVocabulary", "ArgvText"]),
        // Finding, verifying and loading plugins and companions: shared by
        // the action runtime and fshost-admin (list, describe, cdb).
        .target(name: "PluginLoading", dependencies: [
            "FSPluginABI", "HAVocabulary", "PluginRecord", "ELFCheck", "CDB", "TrustedPaths", "HostLock",
        ]),
        // The action runtime: supervisor and worker, the action's protocol
        // (ActionJob), locks, state, process checks, host services, log.
        .target(name: "FSHost", dependencies: [
            "FSPluginABI", "HAVocabulary", "PluginLoading", "ArgvText", "ProcScan", "Spawn", "CDB", "CSystemShims",
            "TrustedPaths", "ELFCheck", "HostLock",
        ]),
        // The action executable: its command line (dispatch, help, the
        // action's options, exec2) over the runtime.
        .executableTarget(name: "fshost", dependencies: ["FSHost", "PluginLoading", "HAVocabulary", "CDB", "ProcScan", "Spawn"]),
        .executableTarget(name: "fshost-admin", dependencies: [
            "PluginLoading", "Management", "HAVocabulary", "CDB", "ELFCheck", "PluginRecord", "CSystemShims",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "TOMLKit", package: "TOMLKit"),
        ]),

        // ---- The plugin SDK ------------------------------------------------
        .target(name: "FSKit", dependencies: ["FSPluginABI", "HAVocabulary", "ArgvText", "TrustedPaths", "CSystemShims"]),

        // ---- Companion calls (each declared once for a plugin and its companion)
        companionCall("HTTPProbeCall", path: "Plugins/WebServer/HTTPProbeCall"),
        companionCall("EchoCall", path: "Tests/Plugins/EchoCall"),
        companionCall("PostgresCall", path: "Plugins/Database/PostgresCall"),
        companionCall("SCRAMCall", path: "Plugins/Database/SCRAMCall"),
        companionCall("NFSClientCall", path: "Plugins/NFS/NFSClientCall"),

        // ---- Tests -----------------------------------------------------------
        .target(name: "TestSupport", dependencies: ["CDB"], path: "Tests/TestSupport"),
        .testTarget(name: "HAVocabularyTests", dependencies: ["HAVocabulary", "FSPluginABI"]),
        .testTarget(name: "ELFCheckTests", dependencies: ["ELFCheck", "PluginRecord", "TestSupport"]),
        .testTarget(name: "ProcScanTests", dependencies: ["ProcScan", "Spawn", "HAVocabulary", "TestSupport"]),
        .testTarget(name: "CDBTests", dependencies: ["CDB", "HAVocabulary", "TestSupport"]),
        .testTarget(name: "ManagementTests", dependencies: ["Management", "CDB", "HAVocabulary", "ArgvText", "TestSupport"]),
        .testTarget(name: "PluginLoadingTests", dependencies: ["PluginLoading", "CDB", "FSPluginABI"]),
        // The command line of `fshost` (exec2, the action's options), in-process.
        .testTarget(name: "CommandLineTests", dependencies: ["fshost", "FSHost", "HAVocabulary", "ProcScan", "TestSupport"]),
        .testTarget(name: "FSHostTests", dependencies: ["FSHost", "PluginLoading", "HAVocabulary", "CDB", "ELFCheck", "PluginRecord", "TestSupport"]),
        .testTarget(name: "WebServerTests", dependencies: ["TestSupport"]),
        .testTarget(name: "DatabaseTests", dependencies: ["TestSupport"]),
        .testTarget(name: "NFSTests", dependencies: ["TestSupport"]),
        // The SDK's building blocks (typed attributes, daemon lifecycle, file checks), without a host.
        .testTarget(name: "FSKitTests", dependencies: ["FSKit", "HAVocabulary", "TestSupport", "ProcScan", "Spawn"]),
        .testTarget(name: "LogWriterTests", dependencies: ["TestSupport"]),

        // ---- ipfilter (nftables): libnftables for its companion only
        .systemLibrary(name: "CNftables", pkgConfig: "libnftables", providers: [.apt(["libnftables-dev"])]),
        companionCall("NftablesCall", path: "Plugins/IPFilter/NftablesCall"),
        .testTarget(name: "IPFilterTests", dependencies: ["TestSupport"]),

        // ---- fshost verify's test plugins: the resource they share
        .target(name: "LiarKit", dependencies: ["FSKit"], path: "Tests/Plugins/LiarKit"),

        // ---- daemon: any foreground program (issue 14 item 7)
        .testTarget(name: "DaemonTests", dependencies: ["TestSupport"]),
    ] + plugins
)
