// The man pages fshost(1) and fshost-admin(1), written from the two parsers
// themselves, so a page never describes options the programs do not have:
// the management commands from swift-argument-parser's description of this
// tool (`--experimental-dump-help`'s JSON, ToolInfo v0), and the action form
// `fshost TYPE ACTION RESOURCE` — which the action path parses itself, with
// no argument parser — from `fshost --help`, section by section.
import ArgumentParser
import Foundation

/// swift-argument-parser's description of a command (ToolInfo v0, the
/// fields a page uses).
struct ToolCommand: Decodable {
    var commandName: String
    var abstract: String?
    var discussion: String?
    var shouldDisplay: Bool?
    var subcommands: [ToolCommand]?
    var arguments: [ToolArgument]?
}

/// One argument of a ``ToolCommand``: `kind` is `positional`, `option` or `flag`.
struct ToolArgument: Decodable {
    struct Name: Decodable {
        /// `long`, `short` or `longWithSingleDash`.
        var kind: String
        var name: String
        var text: String { kind == "long" ? "--" + name : "-" + name }
    }
    var kind: String
    var shouldDisplay: Bool?
    var isOptional: Bool?
    var isRepeating: Bool?
    var names: [Name]?
    var valueName: String?
    var defaultValue: String?
    var allValues: [String]?
    var abstract: String?
    var discussion: String?
}

/// A man(7) page: `render()` is the roff text.
struct ManualPage {
    /// `fshost` or `fshost-admin`.
    let name: String
    /// The admin tool's root command (its `commandName` is `fshost`).
    let root: ToolCommand
    /// `fshost --help`: an introduction, then sections `HEADING` at column 0
    /// with bodies indented by two spaces. Required for the `fshost` page.
    let actionHelp: String?
    /// `fshost 0.1.0`.
    let version: String

    /// The pages there are.
    static let names = ["fshost", "fshost-admin"]

    /// The page of this tool, from the parser's own description of it.
    ///
    /// - Throws: a decoding error when the parser's JSON is not ToolInfo v0.
    static func make(name: String, actionHelp: String?) throws -> ManualPage {
        struct Dump: Decodable { var command: ToolCommand }
        let dump = try JSONDecoder().decode(Dump.self, from: Data(Admin._dumpHelp().utf8))
        return ManualPage(name: name, root: dump.command, actionHelp: actionHelp,
                          version: Admin.configuration.version)
    }

    func render() -> String {
        var out = ".TH \(name.uppercased()) 1 \"\" \"\(version)\" \"fshost manual\"\n"
        out += ".ad l\n"  // ragged right: justified, groff warns "cannot adjust line" beside long unbreakable words
        let sections = actionHelp.map(Self.sections) ?? []
        if name == "fshost" {
            out += ".SH NAME\nfshost \\- run the actions of a high-availability cluster's resources, one plugin per type\n"
            out += ".SH SYNOPSIS\n.nf\n"
            for (heading, body) in sections where heading == "USAGE" { out += Self.escape(body) + "\n" }
            out += "fshost list | describe | check | cdb | scaffold | verify | status ...\n.fi\n"
            out += ".SH DESCRIPTION\n" + Self.paragraphs(sections.first { $0.heading.isEmpty }?.body ?? "")
            out += Self.paragraphs("The first word is a resource type (an installed plugin) or a management command; the management commands are run by fshost-admin(1), described below under MANAGEMENT COMMANDS.")
            for (heading, body) in sections where !heading.isEmpty && heading != "USAGE" {
                out += ".SH \(Self.quoted(heading))\n.nf\n" + Self.escape(body) + "\n.fi\n"
            }
            out += ".SH \"MANAGEMENT COMMANDS\"\n"
        } else {
            out += ".SH NAME\nfshost-admin \\- the management commands of fshost\n"
            out += ".SH SYNOPSIS\n.nf\nfshost-admin COMMAND [OPTIONS] [ARGUMENTS]\n.fi\n"
            out += ".SH DESCRIPTION\n"
            out += Self.paragraphs("fshost(1) runs this program, installed as <prefix>/libexec/fshost/fshost-admin (FSHOST_ADMIN moves it), for every first word that is one of its commands: `fshost cdb show` is `fshost-admin cdb show`. It names itself fshost in its messages.")
            out += ".SH COMMANDS\n"
        }
        out += Self.paragraphs(root.abstract ?? "") + Self.paragraphs(root.discussion ?? "")
        for command in root.subcommands ?? [] { out += Self.command(command, path: "fshost") }
        out += ".SH \"SEE ALSO\"\n" + (name == "fshost" ? "fshost-admin(1)" : "fshost(1)")
        out += "; README.md and ARCHITECTURE.md in <prefix>/share/doc/fshost\n"
        return out
    }

    /// One subcommand (and its own, in turn): synopsis, text, options.
    static func command(_ command: ToolCommand, path: String) -> String {
        guard command.shouldDisplay ?? true, command.commandName != "help" else { return "" }
        let full = path + " " + command.commandName
        let arguments = (command.arguments ?? []).filter { argument in
            argument.shouldDisplay ?? true
                && !(argument.names ?? []).contains { $0.name == "help" || $0.name == "version" }
        }
        var out = ".SS \(quoted(full))\n.nf\n\\fB\(escape(full))\\fR"
        for argument in arguments { out += " " + escape(synopsis(argument)) }
        out += "\n.fi\n" + paragraphs(command.abstract ?? "") + paragraphs(command.discussion ?? "")
        for argument in arguments {
            let names = (argument.names ?? []).map { "\\fB" + escape($0.text) + "\\fR" }
            let value = argument.kind == "flag" ? "" : " \\fI<" + escape(argument.valueName ?? "value") + ">\\fR"
            let label = argument.kind == "positional" ? "\\fI<" + escape(argument.valueName ?? "value") + ">\\fR"
                : names.joined(separator: ", ") + value
            var text = argument.abstract ?? ""
            if let discussion = argument.discussion, !discussion.isEmpty { text += " " + discussion }
            if let values = argument.allValues, !values.isEmpty { text += " (one of: \(values.joined(separator: ", ")))" }
            if let value = argument.defaultValue, !value.isEmpty { text += " (default: \(value))" }
            out += ".TP\n\(label)\n" + escape(fill(text)) + "\n"
        }
        for subcommand in command.subcommands ?? [] { out += Self.command(subcommand, path: full) }
        return out
    }

    /// `<resource>`, `[--cdb <path>]`, `<file> ...`.
    static func synopsis(_ argument: ToolArgument) -> String {
        let name = argument.names?.first { $0.kind == "long" } ?? argument.names?.first
        var text: String
        switch argument.kind {
        case "positional": text = "<\(argument.valueName ?? "value")>"
        case "option": text = (name?.text ?? "") + " <\(argument.valueName ?? "value")>"
        default: text = name?.text ?? ""
        }
        if argument.isRepeating ?? false { text += " ..." }
        return (argument.isOptional ?? false) || argument.kind == "flag" ? "[\(text)]" : text
    }

    /// `fshost --help` cut at its headings (capitals at column 0, up to a
    /// parenthesis); the
    /// introduction's heading is "". Bodies lose their two-space indent.
    static func sections(_ help: String) -> [(heading: String, body: String)] {
        var result: [(heading: String, body: String)] = [("", "")]
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            // `EXIT STATUS`, `OCF RESOURCE AGENT (Pacemaker)`: capitals up to a parenthesis.
            let title = line.prefix { $0 != "(" }
            let isHeading = line.first?.isUppercase ?? false
                && title.allSatisfy { $0.isUppercase || $0 == " " } && title.contains { $0.isUppercase }
            if isHeading {
                result.append((String(line), ""))
                continue
            }
            let body = line.hasPrefix("  ") ? line.dropFirst(2) : line[...]
            result[result.count - 1].body += (result[result.count - 1].body.isEmpty ? "" : "\n") + body
        }
        return result.map { ($0.heading, $0.body.trimmingCharacters(in: .newlines)) }
            .filter { !$0.heading.isEmpty || !$0.body.isEmpty }
    }

    /// Text split at blank lines: a paragraph with an indented line (a
    /// table, a list of statuses) keeps its lines (`.nf`), the others are
    /// filled by the formatter.
    static func paragraphs(_ text: String) -> String {
        var out = ""
        for paragraph in text.components(separatedBy: "\n\n") where !paragraph.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            let lines = paragraph.split(separator: "\n", omittingEmptySubsequences: false)
            if lines.dropFirst().contains(where: { $0.hasPrefix(" ") }) {
                out += ".PP\n.nf\n" + escape(paragraph) + "\n.fi\n"
            } else {
                out += ".PP\n" + escape(fill(paragraph)) + "\n"
            }
        }
        return out
    }

    /// One line for the formatter to fill.
    static func fill(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }

    /// roff-safe text: a backslash is `\e`, and a line starting with `.` or
    /// `'` (a request) starts with the zero-width `\&`.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\e")
            .split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(".") || $0.hasPrefix("'") ? "\\&" + $0 : String($0) }
            .joined(separator: "\n")
    }

    /// A macro argument with spaces, quoted.
    static func quoted(_ text: String) -> String { "\"" + escape(text).replacingOccurrences(of: "\"", with: "\\(dq") + "\"" }
}
