// `fshost-admin generate-completion SHELL`: what `make install` runs to write
// the shell completions of `fshost`. The management commands' part is
// swift-argument-parser's own script (`completionScript(for:)`, what
// `--generate-completion-script` prints); bash gets the action form on top,
// which the action path parses itself and the parser does not know.
import ArgumentParser
import HAVocabulary

struct CompletionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-completion",
        abstract: "Print the completion script of fshost for bash, zsh or fish.",
        shouldDisplay: false)

    @Argument(help: "bash, zsh or fish.")
    var shell: String

    func validate() throws {
        guard CompletionShell(rawValue: shell) != nil else {
            throw ValidationError("no completion for shell '\(shell)': the shells are bash, zsh, fish")
        }
    }

    func run() throws {
        // A failed write is status 3 at exit (Admin.main, StandardOutput.finish).
        print(Admin.completionScript(for: CompletionShell(rawValue: shell)!), terminator: "")
        if shell == "bash" { print(Self.bashActionForm, terminator: "") }
    }

    /// `fshost TYPE ACTION RESOURCE [--level N] [--timeout D] [--json]`:
    /// the installed types (`fshost list --names`, run at the first word),
    /// then the actions, then the options; a management command's words go
    /// to the parser's `_fshost`.
    static var bashActionForm: String {
        let commands = Admin.configuration.subcommands.filter { $0.configuration.shouldDisplay }
            .map { $0.configuration.commandName ?? "" } + ["help", "ocf", "exec2"]
        let actions = ActionName.allCases.map(\.rawValue).joined(separator: " ")
        return """

        # The action form, parsed by fshost itself (not by the argument parser above).
        _fshost_action_form() {
            local cur="${COMP_WORDS[COMP_CWORD]}"
            if (( COMP_CWORD > 1 )); then
                case "${COMP_WORDS[1]}" in
                \(commands.joined(separator: "|"))|-*) _fshost "$@"; return ;;
                esac
            fi
            case "${COMP_CWORD}" in
            1) _fshost "$@"
               COMPREPLY+=($(compgen -W "$("${COMP_WORDS[0]}" list --names 2>/dev/null)" -- "${cur}")) ;;
            2) COMPREPLY=($(compgen -W '\(actions)' -- "${cur}")) ;;
            3) COMPREPLY=() ;;
            *) COMPREPLY=($(compgen -W '--level --timeout --json' -- "${cur}")) ;;
            esac
        }
        complete -o filenames -F _fshost_action_form fshost

        """
    }
}
