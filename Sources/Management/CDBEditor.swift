import CDB
import HAVocabulary

/// Changes to the CDB checked against each type's plugin schema: what the
/// `fshost cdb` commands do. Every change is one transaction that is
/// checked against what the CDB holds *after* it (type-level overrides
/// included) and rolled back if any affected resource would break its
/// schema, so the CDB never holds a resource the host would refuse.
///
/// The schemas come from a provider, `(type) throws -> AttributeSchema`:
/// `fshost-admin` loads the plugin; tests pass a schema directly. A
/// provider signals an unknown type by throwing ``SchemaUnavailable``.
public final class CDBEditor {
    /// Gives a type's schema, or throws (``SchemaUnavailable`` preferred).
    public typealias SchemaProvider = (_ type: String) throws -> AttributeSchema

    /// The database changed.
    public let database: ConfigurationDatabase
    private let provider: SchemaProvider
    private var schemas: [String: Result<AttributeSchema, AdminError>] = [:]

    /// An editor of `database` with schemas from `schemaFor`.
    public init(database: ConfigurationDatabase, schemaFor: @escaping SchemaProvider) {
        self.database = database
        self.provider = schemaFor
    }

    /// `type`'s schema (asked of the provider once per type).
    public func schema(for type: String) throws(AdminError) -> AttributeSchema {
        if let known = schemas[type] { return try known.get() }
        let result: Result<AttributeSchema, AdminError>
        do {
            result = .success(try provider(type))
        } catch let error as SchemaUnavailable {
            result = .failure(.schemaUnavailable(type: type, status: error.status, message: error.message))
        } catch let error as AdminError {
            result = .failure(error)
        } catch {
            result = .failure(.schemaUnavailable(type: type, status: ExitStatus.notSupported.rawValue, message: "type '\(type)': \(error)"))
        }
        schemas[type] = result
        return try result.get()
    }

    /// Adds a resource after checking `attributes` (with the type-level
    /// overrides and the schema's defaults) against the type's schema.
    /// Values are stored in canonical form.
    public func define(type: String, resource: String, attributes: [String: String]) throws(AdminError) {
        try checkNames(type, resource)
        let schema = try schema(for: type)
        let canonical = try canonicalize(attributes, schema: schema, type: type, resource: resource)
        try write {
            try database.define(type: type, resource: resource, attributes: canonical)
            try check(type: type, resources: [resource], schema: schema)
        }
    }

    /// Sets and unsets attributes of an existing resource, checking the
    /// merged result. Unsetting a key the schema no longer knows is allowed
    /// (that is how a stale attribute is removed).
    ///
    /// `beforeWriting` runs inside the transaction after every check, and
    /// may refuse (the admin tool refuses to change a resource that runs),
    /// so a bad value is reported as such, not as a refusal.
    public func modify(type: String, resource: String, set: [String: String], unset: [String],
                       beforeWriting: () throws(AdminError) -> Void = {}) throws(AdminError) {
        try checkNames(type, resource)
        if let both = unset.first(where: { set[$0] != nil }) {
            throw .usage("attribute '\(both)' is both set and unset")
        }
        guard try db({ () throws(CDBError) in try database.contains(type: type, resource: resource) }) else {
            throw .database(.resourceNotFound(type: type, name: resource))
        }
        let schema = try schema(for: type)
        let canonical = try canonicalize(set, schema: schema, type: type, resource: resource)
        try write {
            try database.modify(type: type, resource: resource, set: canonical, unset: unset)
            try check(type: type, resources: [resource], schema: schema)
            try beforeWriting()
        }
    }

    /// Sets and unsets type-level overrides of `type`, checking every
    /// resource of the type afterwards. `beforeWriting` as for ``modify(type:resource:set:unset:beforeWriting:)``.
    public func modifyType(type: String, set: [String: String], unset: [String],
                           beforeWriting: () throws(AdminError) -> Void = {}) throws(AdminError) {
        do { try Names.checkType(type) } catch { throw .database(error) }
        if let both = unset.first(where: { set[$0] != nil }) {
            throw .usage("attribute '\(both)' is both set and unset")
        }
        let schema = try schema(for: type)
        let canonical = try canonicalize(set, schema: schema, type: type, resource: nil)
        try write {
            try database.modifyTypeAttributes(type: type, set: canonical, unset: unset)
            try check(type: type, resources: try database.resources(type: type).map(\.name), schema: schema)
            try beforeWriting()
        }
    }

    /// Whether the resource is defined (names checked first).
    public func exists(type: String, resource: String) throws(AdminError) -> Bool {
        try checkNames(type, resource)
        return try db { () throws(CDBError) in try database.contains(type: type, resource: resource) }
    }

    /// Removes a resource. Needs no schema: a resource of a type whose
    /// plugin is gone can still be deleted.
    public func delete(type: String, resource: String) throws(AdminError) {
        try checkNames(type, resource)
        do { try database.delete(type: type, resource: resource) } catch { throw .database(error) }
    }

    /// One attribute as the host will see it (what FailSafe's
    /// `ha_get_info` answered): the resource's value, else the type-level
    /// override, else the schema's default. The schema is consulted only
    /// when the CDB has no value.
    public func value(type: String, resource: String, key: String) throws(AdminError) -> String {
        try checkNames(type, resource)
        let stored: [String: String]?
        do { stored = try database.attributes(type: type, resource: resource) } catch { throw .database(error) }
        guard let stored else { throw .database(.resourceNotFound(type: type, name: resource)) }
        if let value = stored[key] { return value }
        let schema = try schema(for: type)
        guard let spec = schema.spec(key) else { throw .invalid(type: type, resource: resource, .unknownKey(key)) }
        guard let value = spec.defaultValue else { throw .notSet(type: type, resource: resource, key: key) }
        return value
    }

    /// Every attribute of a resource with its value and where it comes
    /// from, sorted by key. With `schema` nil, defaults are left out.
    public func effectiveAttributes(type: String, resource: String, schema: AttributeSchema?)
        throws(AdminError) -> [(key: String, value: String, source: AttributeSource)] {
        try checkNames(type, resource)
        let own: [String: String]?
        let typeLevel: [String: String]
        do {
            own = try database.resourceAttributes(type: type, resource: resource)
            typeLevel = try database.typeAttributes(type: type)
        } catch {
            throw .database(error)
        }
        guard let own else { throw .database(.resourceNotFound(type: type, name: resource)) }
        var result: [String: (String, AttributeSource)] = [:]
        for spec in schema?.specs ?? [] {
            if let value = spec.defaultValue { result[spec.name] = (value, .default) }
        }
        for (key, value) in typeLevel { result[key] = (value, .type) }
        for (key, value) in own { result[key] = (value, .resource) }
        return result.keys.sorted().map { ($0, result[$0]!.0, result[$0]!.1) }
    }

    /// Imports a parsed TOML file (see ``TOMLMapping``) in one transaction.
    /// Every value is typed and checked first; then the file's resources
    /// replace (or add to) the CDB's, and every affected resource is checked
    /// against its schema; if any fails, nothing is written.
    ///
    /// A resource in the file replaces the CDB's resource of that name
    /// whole (attributes not in the file are removed). A `[TYPE]` table
    /// with keys of its own replaces that type's overrides; without, the
    /// overrides stay. Resources and types not in the file stay, unless
    /// `replaceAll`: then the CDB afterwards holds exactly the file.
    ///
    /// A secret the CDB holds for a resource (or `[TYPE]` table) of the
    /// file, and the file leaves out, is kept unless `replaceSecrets`: a
    /// default export leaves secrets out, and importing it must not erase
    /// them (``SecretValues/keepingStored(in:current:replace:replaceAll:isSecret:)``).
    ///
    /// A `replaceAll` of a file without resources would empty the CDB:
    /// what a backup truncated on a full disk looks like. It is refused
    /// (``AdminError/invalidInput(_:)``) unless `allowEmpty`.
    ///
    /// `beforeWriting` sees the ``ImportPlan`` inside the transaction,
    /// after every check, and may refuse it (the admin tool refuses to drop
    /// a resource that runs). With `source` (the file's name), errors are
    /// wrapped in ``AdminError/importFailed(file:_:)``.
    public func importConfiguration(_ root: [String: ConfigValue], replaceAll: Bool, allowEmpty: Bool = false,
                                    replaceSecrets: Bool = false, source: String? = nil,
                                    beforeWriting: (ImportPlan) throws(AdminError) -> Void = { _ in })
        throws(AdminError) -> ImportSummary {
        do {
            return try importDocument(root, replaceAll: replaceAll, allowEmpty: allowEmpty, replaceSecrets: replaceSecrets,
                                      beforeWriting: beforeWriting)
        } catch {
            if let source { throw .importFailed(file: source, error) }
            throw error
        }
    }

    /// What ``importConfiguration(_:replaceAll:allowEmpty:replaceSecrets:source:beforeWriting:)``
    /// would do, with the same checks and refusals, writing nothing (the
    /// database may be open read-only): `fshost cdb import --dry-run`.
    public func planImport(_ root: [String: ConfigValue], replaceAll: Bool, allowEmpty: Bool = false,
                           replaceSecrets: Bool = false, source: String? = nil) throws(AdminError) -> ImportPlan {
        do {
            let current = try db { () throws(CDBError) in try database.snapshot(type: nil) }
            let typed = try typedDocument(root)
            let (document, kept, removes) = secretsKept(typed, current: current, replace: replaceSecrets,
                                                         replaceAll: replaceAll)
            var plan = try checkedPlan(document, current: current, replaceAll: replaceAll, allowEmpty: allowEmpty)
            plan.keptSecrets = kept
            plan.removedSecrets = removes
            return plan
        } catch {
            if let source { throw .importFailed(file: source, error) }
            throw error
        }
    }

    /// `document` with the stored secrets it leaves out kept (or, with
    /// `replace`, listed as removed).
    private func secretsKept(_ document: TOMLMapping.Document, current: [TypeConfiguration], replace: Bool,
                             replaceAll: Bool)
        -> (document: TOMLMapping.Document, kept: [String], removes: [String]) {
        SecretValues.keepingStored(in: document, current: current, replace: replace, replaceAll: replaceAll) {
            isSecret(type: $0, key: $1)
        }
    }

    private func typedDocument(_ root: [String: ConfigValue]) throws(AdminError) -> TOMLMapping.Document {
        try TOMLMapping.document(from: root) { (type: String) throws(AdminError) -> AttributeSchema in
            try schema(for: type)
        }
    }

    /// The plan of `document` over `current`, after checking, in memory,
    /// every resource it affects against its schema, and the empty
    /// `--replace-all` rule.
    private func checkedPlan(_ document: TOMLMapping.Document, current: [TypeConfiguration], replaceAll: Bool,
                             allowEmpty: Bool) throws(AdminError) -> ImportPlan {
        let plan = ImportPlan(document: document, current: current, replaceAll: replaceAll) { type in try? self.schema(for: type) }
        if replaceAll && document.resourceCount == 0 && !plan.removed.isEmpty && !allowEmpty {
            throw .invalidInput("the file defines no resources, and --replace-all would remove all \(plan.removed.count) "
                + "resources of the CDB (an empty or truncated backup looks like this); give --allow-empty to empty it on purpose")
        }
        var final: [String: TypeConfiguration] = [:]
        if !replaceAll { for entry in current { final[entry.type] = entry } }
        for type in document.types.keys.sorted() {
            let section = document.types[type]!
            var entry = final[type] ?? TypeConfiguration(type: type)
            if let overrides = section.typeAttributes { entry.typeAttributes = overrides }
            for (name, values) in section.resources { entry.resources[name] = values }
            final[type] = entry
            let affected = section.typeAttributes == nil ? Array(section.resources.keys) : Array(entry.resources.keys)
            let schema = try schema(for: type)
            for name in affected.sorted() {
                let merged = entry.typeAttributes.merging(entry.resources[name] ?? [:]) { _, own in own }
                if case .failure(let violation) = schema.resolve(merged) {
                    throw .invalid(type: type, resource: name, violation)
                }
            }
        }
        return plan
    }

    private func importDocument(_ root: [String: ConfigValue], replaceAll: Bool, allowEmpty: Bool, replaceSecrets: Bool,
                                beforeWriting: (ImportPlan) throws(AdminError) -> Void) throws(AdminError) -> ImportSummary {
        let typed = try typedDocument(root)
        return try write { () throws -> ImportSummary in
            let current = try database.snapshot(type: nil)
            let (document, kept, removes) = secretsKept(typed, current: current, replace: replaceSecrets,
                                                         replaceAll: replaceAll)
            var plan = try checkedPlan(document, current: current, replaceAll: replaceAll, allowEmpty: allowEmpty)
            plan.keptSecrets = kept
            plan.removedSecrets = removes
            try beforeWriting(plan)
            var summary = ImportSummary(defined: plan.added.count, replaced: plan.changed.count + plan.unchanged.count,
                                        removed: plan.removed.count, typesWithOverrides: 0,
                                        keptSecrets: kept, removedSecrets: removes)
            if replaceAll {
                try database.removeAll()
            }
            for type in document.types.keys.sorted() {
                let section = document.types[type]!
                if let overrides = section.typeAttributes {
                    try database.replaceTypeAttributes(type: type, attributes: overrides)
                    summary.typesWithOverrides += 1
                }
                for name in section.resources.keys.sorted() {
                    try database.replace(type: type, resource: name, attributes: section.resources[name]!)
                }
                // Checked in memory already; checked again against what
                // the database now holds, which is what actions will read.
                let affected = section.typeAttributes == nil
                    ? section.resources.keys.sorted()
                    : try database.resources(type: type).map(\.name)
                try check(type: type, resources: affected, schema: try schema(for: type))
            }
            return summary
        }
    }

    /// The TOML text of the CDB (or of one type), typed by each type's
    /// schema. A type whose schema cannot be had is written with string
    /// values, and a warning says so.
    /// Secret values are left out (each named in a warning) unless
    /// `includeSecrets` (see ``SecretValues``).
    public func export(type: String?, includeSecrets: Bool = false) throws(AdminError) -> (text: String, warnings: [String]) {
        if let type { do { try Names.checkType(type) } catch { throw .database(error) } }
        var snapshot: [TypeConfiguration]
        do { snapshot = try database.snapshot(type: type) } catch { throw .database(error) }
        var secretWarnings: [String] = []
        if !includeSecrets {
            let (kept, removed) = SecretValues.removing(from: snapshot) { isSecret(type: $0, key: $1) }
            snapshot = kept
            if !removed.isEmpty {
                secretWarnings.append("secret values left out: \(removed.joined(separator: ", ")) (importing this file "
                    + "keeps the stored values; use --include-secrets for a full backup)")
            }
        }
        var known: [String: AttributeSchema] = [:]
        var warnings: [String] = []
        for entry in snapshot {
            do {
                known[entry.type] = try schema(for: entry.type)
            } catch {
                warnings.append("\(error.description); values of type '\(entry.type)' are exported as strings")
            }
        }
        let text = TOMLMapping.render(snapshot) { type, key in known[type]?.spec(key)?.kind }
        return (text, warnings + secretWarnings)
    }

    // MARK: - Helpers

    private func checkNames(_ type: String, _ resource: String) throws(AdminError) {
        do {
            try Names.checkType(type)
            try Names.checkResource(resource)
        } catch {
            throw .database(error)
        }
    }

    /// Canonical text of `values`, or the first violation: unknown keys,
    /// then wrong kinds, each in key order.
    private func canonicalize(_ values: [String: String], schema: AttributeSchema,
                              type: String, resource: String?) throws(AdminError) -> [String: String] {
        switch schema.canonicalize(values) {
        case .success(let canonical): return canonical
        case .failure(let violation): throw .invalid(type: type, resource: resource, violation)
        }
    }

    /// Checks what the CDB now holds for `resources` (overrides merged).
    private func check(type: String, resources: [String], schema: AttributeSchema) throws(AdminError) {
        for name in resources {
            let merged: [String: String]?
            do { merged = try database.attributes(type: type, resource: name) } catch { throw .database(error) }
            guard let merged else { continue }
            if case .failure(let violation) = schema.resolve(merged) {
                throw .invalid(type: type, resource: name, violation)
            }
        }
    }

    /// Runs `body`, with database errors wrapped.
    private func db<T>(_ body: () throws(CDBError) -> T) throws(AdminError) -> T {
        do { return try body() } catch { throw .database(error) }
    }

    /// Runs `body` in one transaction, with database errors wrapped.
    private func write<T>(_ body: () throws -> T) throws(AdminError) -> T {
        do {
            return try database.transaction(body)
        } catch let error as AdminError {
            throw error
        } catch let error as CDBError {
            throw .database(error)
        } catch {
            throw .failed("\(error)")
        }
    }
}
