// What `fshost verify` checks of a plugin before running any of it against
// a resource: the host's pre-load checks of the file (the ones `fshost
// check` prints), then the descriptor the loaded plugin hands the host.
import CDB
import ELFCheck
import HAVocabulary
import PluginLoading
import PluginRecord

enum VerifyStaticChecks {
    /// Every pre-load check of the file at `path` (found in `directory` of
    /// the plugin path) and its companions: one step each that failed, or
    /// one step saying how many passed.
    static func elf(path: String, directory: String, type: String) -> VerifyStep {
        let started = monotonicMilliseconds()
        let verifier = PluginVerifier(expectedTypeName: type, pluginDirectory: directory)
        var (checks, record) = verifier.report(path: path)
        if let record, !checks.contains(where: { !$0.passed }) {
            checks += CompanionMatch.checks(pluginPath: path, record: record)
        }
        let file = path.split(separator: "/").last.map(String.init) ?? path
        var step = VerifyStep(name: "ELF checks", command: "check \(file)", expected: "all pass", isStatic: true)
        step.milliseconds = Int(monotonicMilliseconds() - started)
        if let failed = checks.first(where: { !$0.passed }) {
            step.result = .failed
            step.answer = "\(failed.name) failed"
            step.detail = failed.detail
        } else {
            step.result = .passed
            step.answer = "\(checks.count) passed"
        }
        return step
    }

    /// The descriptor's sanity, as a cluster manager and an operator rely on
    /// it: levels numbered (at least one, no number twice, the default level
    /// among them) and described (a name, what it checks and what it costs:
    /// `fshost describe` and the OCF meta-data print them); the summary set;
    /// and every attribute's default valid against the attribute's own kind
    /// and constraints (``AttributeConstraints``: the check a stored value
    /// gets), else every resource that relies on the default is refused.
    static func descriptorProblems(_ plugin: LoadedPlugin) -> [String] {
        var problems: [String] = []
        if plugin.summary.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("the summary is empty") }
        if plugin.levels.isEmpty { problems.append("no monitoring level is declared") }
        var seen: Set<UInt32> = []
        for level in plugin.levels {
            if !seen.insert(level.number).inserted { problems.append("level \(level.number) is declared twice") }
            for (field, text) in [("name", level.name), ("description (what it checks)", level.description),
                                  ("cost", level.cost)] where text.trimmingCharacters(in: .whitespaces).isEmpty {
                problems.append("level \(level.number) has no \(field)")
            }
        }
        if !plugin.levels.isEmpty && !seen.contains(plugin.defaultLevel) {
            problems.append("the default level \(plugin.defaultLevel) is not one of the levels "
                + "(\(plugin.levels.map { String($0.number) }.joined(separator: ", ")))")
        }
        for spec in plugin.attributes {
            if spec.description.trimmingCharacters(in: .whitespaces).isEmpty {
                problems.append("attribute \(spec.name) has no help text")
            }
            guard let value = spec.defaultValue else { continue }
            if case .failure(let error) = AttributeConstraints.check(value, against: spec) {
                problems.append("the default of attribute \(spec.name) \(error.message)")
            }
        }
        return problems
    }

    /// ``descriptorProblems(_:)`` as a step.
    static func descriptor(_ plugin: LoadedPlugin) -> VerifyStep {
        let started = monotonicMilliseconds()
        let problems = descriptorProblems(plugin)
        var step = VerifyStep(name: "descriptor", command: "describe \(plugin.typeName)",
                              expected: "sane", isStatic: true)
        step.milliseconds = Int(monotonicMilliseconds() - started)
        step.result = problems.isEmpty ? .passed : .failed
        step.answer = problems.isEmpty
            ? "\(plugin.levels.count) level(s), \(plugin.attributes.count) attribute(s)" : "\(problems.count) problem(s)"
        step.detail = problems.isEmpty ? nil : problems.joined(separator: "; ")
        return step
    }
}
