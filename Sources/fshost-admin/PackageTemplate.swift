import Foundation  // replacingOccurrences

/// The files of a standalone plugin package (`fshost scaffold NAME --package
/// DIR`): a Swift package that depends on the fshost SDK (FSKit and the
/// `FSPluginRecordPlugin` build-tool plugin) and builds one resource type.
///
/// The type it writes passes `fshost verify` as written: every action is a
/// stub that keeps the resource's on/off in a state marker the host stores
/// for it (start writes it, stop removes it, monitor and exclusive read it),
/// so the protocol holds before the author writes a line of their own.
struct PackageTemplate {
    /// The target and type: `MailServer` builds `libmailserver.so`, type `mailserver`.
    let name: String
    /// The SDK checkout the package depends on, an absolute path.
    let sdkPath: String

    var typeName: String { name.lowercased() }

    /// SwiftPM names a path dependency by its directory's last component
    /// (lower case): `.product(…, package:)` must use that identity.
    var sdkIdentity: String {
        String(sdkPath.split(separator: "/").last ?? "fshost").lowercased()
    }

    /// Every file, relative to the package directory, with its text.
    var files: [(path: String, text: String)] {
        [("Package.swift", manifest), ("Sources/\(name)/\(name).swift", source),
         ("Tests/\(name)Tests/\(name)Tests.swift", test), ("Makefile", makefile),
         ("README.md", readme), (".gitignore", "/.build\n/Package.resolved\n")]
    }

    /// The checkout's path as a Swift string literal's contents.
    var sdkPathLiteral: String {
        sdkPath.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }

    var manifest: String {
        #"""
        // swift-tools-version:6.1
        //
        // \#(name): an fshost resource type (type name "\#(typeName)"), built
        // outside the fshost tree. `swift build` makes .build/debug/lib\#(typeName).so;
        // `make install` installs it as $(PREFIX)/lib/fshost/resource_types/\#(typeName).so.
        import PackageDescription

        // The fshost SDK: FSKit, and the build-tool plugin that writes the
        // plugin's ELF record and entry point. By path, a checkout of fshost:
        let sdk: Package.Dependency = .package(path: "\#(sdkPathLiteral)")
        // or by URL (its identity is the URL's last component without `.git`):
        //   let sdk: Package.Dependency = .package(url: "https://git.example.org/fshost.git", branch: "main")
        //   let sdkName = "fshost"
        // The SDK's identity, for `.product(…, package:)`: the directory's last component.
        let sdkName = "\#(sdkIdentity)"

        let package = Package(
            name: "\#(name)",
            products: [
                // lib<type>.so; the type name is the target's name in lower case.
                .library(name: "\#(typeName)", type: .dynamic, targets: ["\#(name)"]),
            ],
            dependencies: [sdk],
            targets: [
                .target(name: "\#(name)", dependencies: [.product(name: "FSKit", package: sdkName)],
                        plugins: [.plugin(name: "FSPluginRecordPlugin", package: sdkName)]),
                .testTarget(name: "\#(name)Tests", dependencies: ["\#(name)", .product(name: "FSKit", package: sdkName)]),
            ]
        )

        """#
    }

    var source: String {
        #"""
        // \#(name): an fshost resource type (type name "\#(typeName)").
        //
        // Every action below is a stub that keeps the resource's on/off in a
        // state marker the host stores for this resource: start writes it,
        // stop removes it, monitor and exclusive read it. So the type passes
        // `fshost verify` as it is. Replace each stub with the real thing,
        // keeping what each one must answer (see README.md).
        import FSKit

        struct \#(name): ResourceType {
            // MARK: Description

            static let summary = "\#(name): replace this line with what the resource is"

            /// An attribute example: name, kind, default, help, declared once.
            /// The host checks a resource's value against it before any action
            /// and at `fshost cdb define`; `fshost describe \#(typeName)` prints it.
            static let greeting = Attribute.string("greeting", default: "hello",
                "an example attribute: written into the start marker (replace it with what the resource needs)")

            /// The schema: every declared attribute, listed once.
            static let attributes: [Attribute] = [greeting]

            /// Monitoring levels, shallowest first, each numbered and described.
            static let levels = [
                MonitorLevel(1, "marker", checks: "start's marker is present (replace with a real check)",
                             cost: "one state read"),
            ]

            /// The level `monitor` runs when the resource does not set one.
            static let defaults = ActionDefaults(level: 1)

            /// The state key of the stub's marker.
            static let marker = "started"

            // MARK: Configuration

            let resource: Resource
            let greeting: String

            /// Typed values: the host applied the defaults and checked the constraints.
            init(resource: Resource) throws(ConfigurationError) {
                self.resource = resource
                greeting = resource[Self.greeting]
            }

            // MARK: Actions

            /// Checks the schema cannot express (files exist, programs executable).
            func validate() -> Outcome { .success }

            /// Start. Idempotent: starting a running resource succeeds. Return
            /// only once the resource answers (the host runs monitor right after).
            func start() -> Outcome { storeMarker(greeting) }

            /// Stop. Idempotent: stopping a stopped resource succeeds.
            func stop() -> Outcome { storeMarker(nil) }

            /// One level's check: `.success`, `.notRunning()` when cleanly
            /// stopped, `.failed(reason)` when broken.
            func probe(level: UInt32) -> Outcome {
                resource.state[Self.marker] == nil ? .notRunning("no start marker") : .success
            }
        }

        extension \#(name) {
            /// The stub's on/off: writes the marker (nil removes it). A write
            /// that fails (a full disk) fails the action, naming the key.
            func storeMarker(_ value: String?) -> Outcome {
                do throws(State.WriteError) {
                    try resource.state.store(value, for: Self.marker)
                } catch {
                    return .failed("\(error)")
                }
                return .success
            }
        }

        extension \#(name): ExclusiveCheck {
            /// Does the resource already run on this node? `.running()` or `.notRunning()`.
            func exclusive() -> Outcome {
                resource.state[Self.marker] == nil ? .notRunning() : .running()
            }
        }

        extension \#(name): CustomRestart {
            /// A local restart after a monitor failure.
            func restart() -> Outcome {
                let stopped = stop()
                return stopped.status == .success ? start() : stopped
            }
        }

        // No entry point to write: the build generates `fshost_plugin_entry`
        // and the ELF record from the target's name.

        """#
    }

    var test: String {
        #"""
        import FSKit
        import XCTest
        @testable import \#(name)

        /// What a host checks of the descriptor, checked without a host.
        final class \#(name)Tests: XCTestCase {
            func testLevelsAreNumberedAscendingAndDescribed() {
                let numbers = \#(name).levels.map(\.number)
                XCTAssertFalse(numbers.isEmpty)
                XCTAssertEqual(numbers, numbers.sorted())
                XCTAssertEqual(Set(numbers).count, numbers.count)
                XCTAssertTrue(numbers.contains(\#(name).defaults.level))
                for level in \#(name).levels {
                    XCTAssertFalse(level.description.isEmpty, "level \(level.number)")
                }
            }

            func testAttributesAreDeclaredOnceWithHelp() {
                let names = \#(name).attributes.map(\.name)
                XCTAssertEqual(Set(names).count, names.count)
                XCTAssertTrue(\#(name).attributes.allSatisfy { !$0.description.isEmpty })
                XCTAssertEqual(\#(name).greeting.defaultValue, "hello")
            }
        }

        """#
    }

    var makefile: String {
        // Recipe lines start with a tab.
        #"""
        # \#(name): build the plugin and install it where fshost looks for types.
        # The file is written under a temporary name (not ending in .so) and
        # renamed over the old one: a running action keeps the file it mapped.
        # Its RUNPATH is set to $ORIGIN/../swift (the Swift runtime the host's
        # `make install` ships in lib/fshost/swift), as the host does for its
        # own plugins: no path of the build machine's toolchain is left.
        PREFIX ?= /usr/local
        DESTDIR ?=
        SWIFT ?= swift
        CONFIG ?= release
        TYPES := $(DESTDIR)$(PREFIX)/lib/fshost/resource_types

        .PHONY: build test install

        build:
        \#t$(SWIFT) build -c $(CONFIG)

        test:
        \#t$(SWIFT) test

        install: build
        \#tinstall -d -m 0755 "$(TYPES)"
        \#t@command -v patchelf >/dev/null || { echo "make install: patchelf is missing (apt-get install patchelf)" >&2; exit 1; }
        \#tinstall -m 0755 "$$($(SWIFT) build -c $(CONFIG) --show-bin-path)/lib\#(typeName).so" "$(TYPES)/.\#(typeName).so.tmp"
        \#tpatchelf --set-rpath '$$ORIGIN/../swift' "$(TYPES)/.\#(typeName).so.tmp" || { rm -f "$(TYPES)/.\#(typeName).so.tmp"; exit 1; }
        \#tmv -f "$(TYPES)/.\#(typeName).so.tmp" "$(TYPES)/\#(typeName).so"

        """#
    }

    var readme: String {
        #"""
        # \#(name)

        An fshost resource type, type name `\#(typeName)` (the target's name in lower case).

        ## Build, test, install

            swift build                     # .build/debug/lib\#(typeName).so
            swift test                      # the descriptor's checks, no host needed
            fshost check .build/debug/lib\#(typeName).so
            make install PREFIX=/usr/local  # lib/fshost/resource_types/\#(typeName).so, mode 0755, by rename

        Install as root: fshost loads only a plugin owned by root (or the
        invoking user), not writable by group or others, in directories that
        follow the same rule. The plugin must be built by the same Swift
        compiler as the fshost it runs in (the ELF record carries it).

        ## Try it

            fshost cdb define \#(typeName) r1 greeting=hi
            fshost verify \#(typeName) r1         # the protocol, step by step
            fshost \#(typeName) start r1; fshost \#(typeName) monitor r1; fshost \#(typeName) stop r1

        ## What to edit

        `Sources/\#(name)/\#(name).swift`: each action is a stub that keeps an
        on/off marker in the resource's state. Replace them, keeping what each
        must answer:

        | action | answers |
        |---|---|
        | `start` | success once the resource answers; idempotent |
        | `stop` | success once it is gone; idempotent |
        | `probe(level:)` | success, `.notRunning()` when cleanly stopped, `.failed(reason)` |
        | `exclusive` | `.running()` or `.notRunning()` on this node |
        | `restart` | a local restart (the default is stop, then start) |
        | `validate` | what the schema cannot check (files, programs) |

        Declare attributes with `Attribute.string/integer/port/path/command/…`
        and read them typed, `resource[Self.attr]`; declare the processes the
        resource runs as in `processes`, so the host checks them after start
        and stop. fshost's README ("Writing a plugin", "Ship a plugin") has
        the rest.

        ## The SDK dependency

        `Package.swift` depends on the fshost checkout by path (`\#(sdkPath)`).
        To build against a published fshost, use the URL form commented there
        and set `sdkName` to the URL's last component without `.git`.

        """#
    }
}
