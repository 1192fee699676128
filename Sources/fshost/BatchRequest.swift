import FSHost
import HAVocabulary

/// One FailSafe batch call, as ha_srmd makes it (FAILSAFE-NOTES §2): all the
/// resources of one type in a resource group, in one input file.
///
/// Two spellings:
/// - `fshost <type> <action> --infile IN --outfile OUT [--paramfile P]`
/// - `fshost <type> <action> IN OUT [P]`, the positional form a FailSafe
///   action script receives as `$1 $2 $3` (what the installed
///   `lib/failsafe/resource_types/<type>/<action>` scripts pass on). Four or
///   more positional words mean batch (more than five: too many batch
///   arguments); three mean one resource.
///
/// `--no-outfile` (what the directory form passes when srmd gives IN alone:
/// IRIX FailSafe calls OUT optional): no output file, the exit status is the
/// answer. Options passed on to every resource's action: `--level N`, `--timeout
/// DURATION`. `--parallel N` (1-64; default `FSHOST_BATCH_PARALLEL`, else 8;
/// a bad FSHOST_BATCH_PARALLEL is warned about and the default used)
/// bounds how many resources run at once.
struct BatchRequest {
    var type: String
    var action: ActionName
    var infile: String
    /// nil: `--no-outfile` (the directory form called with IN alone).
    var outfile: String?
    var paramfile: String?
    var parallel: Int
    /// The action of every resource (`--level`, `--timeout` applied); its
    /// resource is replaced per line.
    var template: ActionRequest

    /// The bound of `--parallel`: more children than this only queue on two
    /// cores and hold more memory; srmd's groups are tens of resources.
    static let parallelRange = 1...64
    static let defaultParallel = 8

    /// Whether `words` (after `fshost`) ask for batch mode: a file option, or
    /// four or more positional words (one resource's action has exactly
    /// three; more than five is a batch call with too many arguments, as
    /// the directory form given `IN OUT P extra`, not a resource named IN).
    static func isBatch(_ words: [String]) -> Bool {
        if words.contains(where: { $0 == "--infile" || $0 == "--outfile" || $0 == "--paramfile" || $0 == "--parallel" || $0 == "--no-outfile" }) {
            return true
        }
        return positional(words).count >= 4
    }

    private static func positional(_ words: [String]) -> [String] {
        var result: [String] = []
        var i = 0
        while i < words.count {
            // --retries (a single action's) takes a value too: `… r --retries 0` is three words, not a batch.
            if ["--level", "--timeout", "--retries", "--infile", "--outfile", "--paramfile", "--parallel"].contains(words[i]) {
                i += 2
                continue
            }
            if !words[i].hasPrefix("--") { result.append(words[i]) }
            i += 1
        }
        return result
    }

    /// Reads the words after `fshost`.
    /// - Throws: ``HostError`` `invalidArguments` (2): an unknown option or
    ///   action, a missing IN or OUT, both spellings mixed, `--json`, a bad
    ///   `--parallel`, `--level` or `--timeout`.
    static func parse(_ words: [String], environment parallelText: String?) throws(HostError) -> BatchRequest {
        var positional: [String] = []
        var files: [String: String] = [:]
        var passed: [String] = []
        var parallelWord = parallelText
        var noOutfile = false
        var i = 0
        while i < words.count {
            let word = words[i]
            switch word {
            case "--infile", "--outfile", "--paramfile", "--parallel", "--level", "--timeout":
                guard i + 1 < words.count else { throw HostError(.invalidArguments, "option \(word) needs a value") }
                let value = words[i + 1]
                switch word {
                case "--level", "--timeout": passed += [word, value]
                case "--parallel": parallelWord = value
                default:
                    guard files[word] == nil else { throw HostError(.invalidArguments, "option \(word) given twice") }
                    guard !value.isEmpty else { throw HostError(.invalidArguments, "option \(word) needs a file name") }
                    files[word] = value
                }
                i += 2
            case "--no-outfile":
                noOutfile = true
                i += 1
            case "--json":
                throw HostError(.invalidArguments, "--json is not available in batch mode: the output file is the answer")
            default:
                if word.hasPrefix("--") { throw HostError(.invalidArguments, "unknown option \(word)") }
                positional.append(word)
                i += 1
            }
        }
        guard positional.count >= 2 else {
            throw HostError(.invalidArguments, "usage: fshost <type> <action> --infile IN --outfile OUT [--paramfile P]")
        }
        let type = positional[0]
        guard let action = ActionName(rawValue: positional[1]) else {
            throw HostError(.invalidArguments, "unknown action '\(Names.printable(positional[1]))' (actions: \(ActionName.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let rest = Array(positional.dropFirst(2))
        var infile = files["--infile"], outfile = files["--outfile"], paramfile = files["--paramfile"]
        if !rest.isEmpty {
            guard files.isEmpty else {
                throw HostError(.invalidArguments, "give the files either as --infile/--outfile/--paramfile or as IN OUT [P], not both")
            }
            guard rest.count <= 3 else {
                throw HostError(.invalidArguments, "too many batch arguments: IN OUT [P] expected, got \(rest.count) (from '\(Names.printable(rest[3]))' on)")
            }
            infile = rest[0]
            outfile = rest.count > 1 ? rest[1] : nil
            paramfile = rest.count > 2 ? rest[2] : nil
            for file in rest where file.isEmpty { throw HostError(.invalidArguments, "empty file name") }
        }
        guard let infile else { throw HostError(.invalidArguments, "batch mode needs the input file (--infile IN)") }
        if noOutfile && outfile != nil { throw HostError(.invalidArguments, "--no-outfile and an output file given both") }
        guard outfile != nil || noOutfile else { throw HostError(.invalidArguments, "batch mode needs the output file (--outfile OUT)") }
        var parallel = defaultParallel
        if let parallelWord {
            if let n = Int(parallelWord), parallelRange.contains(n) {
                parallel = n
            } else if parallelWord == parallelText {
                // The node's environment, not this call: a warning, and the
                // default, rather than every batch of the node failing.
                Logger(prefix: "batch").error("warning: FSHOST_BATCH_PARALLEL takes a number from \(parallelRange.lowerBound) to \(parallelRange.upperBound), not '\(Names.printable(parallelWord))': using \(defaultParallel)")
            } else {
                throw HostError(.invalidArguments, "--parallel takes a number from \(parallelRange.lowerBound) to \(parallelRange.upperBound), not '\(Names.printable(parallelWord))'")
            }
        }
        // --level and --timeout are read once here, with the single
        // action's own parser, so a bad one fails the call before anything runs.
        let template = try ActionRequest.parse([type, action.rawValue, "x"] + passed)
        return BatchRequest(type: type, action: action, infile: infile, outfile: outfile, paramfile: paramfile,
                            parallel: parallel, template: template)
    }
}
