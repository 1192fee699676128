// `fshost-admin generate-manual PAGE`: what `make install` runs to write the
// man pages from the built programs (ManualPage). Hidden: not an operator's
// command, and `fshost` does not hand this word to the admin tool.
import ArgumentParser
import Foundation
import HAVocabulary

struct ManualCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-manual",
        abstract: "Print the man page fshost(1) or fshost-admin(1), from the argument parser.",
        shouldDisplay: false)

    @Argument(help: "fshost or fshost-admin.")
    var page: String

    @Option(name: .customLong("action-help"), help: "A file holding `fshost --help` (the action form); required for the fshost page.")
    var actionHelp: String?

    func validate() throws {
        guard ManualPage.names.contains(page) else {
            throw ValidationError("no man page '\(page)': the pages are \(ManualPage.names.joined(separator: ", "))")
        }
        if page == "fshost" && actionHelp == nil {
            throw ValidationError("the fshost page needs --action-help FILE (the output of `fshost --help`)")
        }
    }

    func run() throws {
        var help: String?
        if let actionHelp {
            guard let data = FileManager.default.contents(atPath: actionHelp), !data.isEmpty else {
                throw fail(HostError(.invalidArguments, "--action-help \(actionHelp): cannot be read or is empty"))
            }
            help = String(decoding: data, as: UTF8.self)
        }
        let manual: ManualPage
        do {
            manual = try ManualPage.make(name: page, actionHelp: help)
        } catch {
            throw fail(HostError(.commandFailed, "the argument parser's description could not be read: \(error)"))
        }
        // A failed write is status 3 at exit (Admin.main, StandardOutput.finish).
        print(manual.render(), terminator: "")
    }
}
