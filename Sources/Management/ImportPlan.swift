import CDB

/// What an import would do to the CDB, worked out before anything is
/// written: `fshost cdb import --dry-run` prints it, the import refuses on
/// it (an empty `--replace-all`, a running resource it would drop), and
/// ``CDBEditor`` then writes exactly it.
public struct ImportPlan: Equatable, Sendable {
    /// A resource by type and name.
    public struct Name: Hashable, Comparable, Sendable, CustomStringConvertible {
        public var type: String
        public var name: String
        public init(type: String, name: String) {
            self.type = type
            self.name = name
        }
        public static func < (a: Name, b: Name) -> Bool { (a.type, a.name) < (b.type, b.name) }
        /// `type/name`.
        public var description: String { type + "/" + name }
    }

    /// Resources of the file that the CDB does not have.
    public var added: [Name] = []
    /// Resources of the file whose own attributes differ from the CDB's.
    public var changed: [Name] = []
    /// Resources of the file the CDB already holds exactly so.
    public var unchanged: [Name] = []
    /// Resources of the CDB the file does not have (`--replace-all` only).
    public var removed: [Name] = []
    /// Types whose type-level attributes would change.
    public var typeLevelChanged: [String] = []
    /// Resources the CDB holds and keeps whose plugin attributes the import
    /// changes, own or type-level (``RunningChange``): each is asked
    /// whether it runs before the import writes. With the keys changed.
    public var changedWhileRunningMatters: [Name: [String]] = [:]
    /// Stored secrets the file leaves out that the import keeps
    /// (`type.resource.key`, `type.key`; see ``SecretValues``).
    public var keptSecrets: [String] = []
    /// Stored secrets the file leaves out that the import removes
    /// (`--replace-secrets`).
    public var removedSecrets: [String] = []
    /// Whether the import replaces everything (`--replace-all`).
    public var replaceAll = false
    /// Resources in the file.
    public var fileResources: Int { added.count + changed.count + unchanged.count }
    /// Whether the import changes nothing.
    public var isEmpty: Bool { added.isEmpty && changed.isEmpty && removed.isEmpty && typeLevelChanged.isEmpty }

    /// The plan for `document` over `current` (what the CDB holds now).
    /// `schema`: a type's schema, for its monitor-only attributes
    /// (``RunningChange``); nil: unknown.
    public init(document: TOMLMapping.Document, current: [TypeConfiguration], replaceAll: Bool,
                schema: (String) -> AttributeSchema? = { _ in nil }) {
        self.replaceAll = replaceAll
        var before: [Name: [String: String]] = [:]
        var typeLevelBefore: [String: [String: String]] = [:]
        for entry in current {
            typeLevelBefore[entry.type] = entry.typeAttributes
            for (name, values) in entry.resources { before[Name(type: entry.type, name: name)] = values }
        }
        var inFile: Set<Name> = []
        for (type, section) in document.types {
            for (name, values) in section.resources {
                let key = Name(type: type, name: name)
                inFile.insert(key)
                switch before[key] {
                case nil: added.append(key)
                case values?: unchanged.append(key)
                default: changed.append(key)
                }
            }
        }
        var types = Set(typeLevelBefore.keys.filter { !(typeLevelBefore[$0] ?? [:]).isEmpty })
        types.formUnion(document.types.keys)
        for type in types {
            let old = typeLevelBefore[type] ?? [:]
            let new = document.types[type]?.typeAttributes ?? (replaceAll ? [:] : old)
            if old != new { typeLevelChanged.append(type) }
        }
        if replaceAll { removed = before.keys.filter { !inFile.contains($0) } }
        changedWhileRunningMatters = Self.processChanges(document: document, before: before,
                                                          typeLevelBefore: typeLevelBefore, replaceAll: replaceAll, schema: schema)
        added.sort(); changed.sort(); unchanged.sort(); removed.sort(); typeLevelChanged.sort()
    }

    /// For each resource of `before` that stays, the keys of its effective
    /// attributes (type-level merged) that the import changes and that
    /// ``RunningChange/needsStopped(_:spec:)``.
    static func processChanges(document: TOMLMapping.Document, before: [Name: [String: String]],
                               typeLevelBefore: [String: [String: String]], replaceAll: Bool,
                               schema: (String) -> AttributeSchema?) -> [Name: [String]] {
        var result: [Name: [String]] = [:]
        for (name, old) in before {
            let section = document.types[name.type]
            let newOwn: [String: String]
            if let values = section?.resources[name.name] {
                newOwn = values
            } else if replaceAll {
                continue  // removed: asked as a removal
            } else {
                newOwn = old
            }
            let typeOld = typeLevelBefore[name.type] ?? [:]
            let typeNew = section?.typeAttributes ?? (replaceAll ? [:] : typeOld)
            let keys = RunningChange.keysNeedingStopped(from: typeOld.merging(old) { _, own in own },
                                                        to: typeNew.merging(newOwn) { _, own in own },
                                                        schema: schema(name.type))
            if !keys.isEmpty { result[name] = keys }
        }
        return result
    }

    /// The lines of `--dry-run`: one per change, then a count.
    ///
    /// ```
    /// add testfixture/new
    /// change testfixture/alpha
    /// remove testfixture/old
    /// change type-level testfixture
    /// keep secret testfixture.alpha.password (not in the file: the stored value stays)
    /// 1 to add, 1 to change, 1 to remove, 0 unchanged; nothing written (dry run)
    /// ```
    public func report(note: (Name) -> String? = { _ in nil }) -> String {
        var out = ""
        func line(_ verb: String, _ name: Name) {
            out += verb + " " + name.description + (note(name).map { " (" + $0 + ")" } ?? "") + "\n"
        }
        for name in added { line("add", name) }
        for name in changed { line("change", name) }
        for name in removed { line("remove", name) }
        for type in typeLevelChanged { out += "change type-level " + type + "\n" }
        for key in keptSecrets { out += "keep secret " + key + " (not in the file: the stored value stays)\n" }
        for key in removedSecrets { out += "remove secret " + key + " (not in the file, --replace-secrets)\n" }
        out += "\(added.count) to add, \(changed.count) to change, \(removed.count) to remove, "
            + "\(unchanged.count) unchanged; nothing written (dry run)\n"
        return out
    }
}
