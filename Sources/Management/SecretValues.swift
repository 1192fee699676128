import CDB

/// Secret attributes (a password, a token; ``AttributeSpec/isSecret``) in
/// what the `cdb` commands print. Decided once, here:
///
/// - `cdb show` prints `(secret)` instead of the value, always;
/// - `cdb export` leaves secret keys out (with a warning naming each key,
///   never the value), unless `--include-secrets`: then the file holds them
///   (it is a backup; import it only from a file kept like the CDB, 0600);
/// - `cdb import` keeps a stored secret the file leaves out (of a resource
///   or `[TYPE]` table the file has), so export-then-import is exact and
///   never erases a password; `--replace-secrets` makes the file exact for
///   secrets too (then they are removed). Either way `--dry-run` and the
///   import's summary name each secret kept or removed
///   (``keepingStored(in:current:replace:replaceAll:isSecret:)``);
/// - `cdb get TYPE RESOURCE KEY` prints the value: asking for that one key
///   is asking for it explicitly (what a start script needs);
/// - error messages never show a secret value (``AttributeConstraints``).
///
/// Which keys are secret comes from the type's plugin; a type whose plugin
/// cannot be loaded has no known secrets.
public enum SecretValues {
    /// What is printed instead of a secret value.
    public static let placeholder = "(secret)"

    /// `configuration` without the secret keys `isSecret(type, key)` names,
    /// and the `type.resource.key` (or `type.key` for a type-level value)
    /// of each key left out.
    public static func removing(from configuration: [TypeConfiguration],
                                isSecret: (_ type: String, _ key: String) -> Bool)
        -> (configuration: [TypeConfiguration], removed: [String]) {
        var removed: [String] = []
        let kept = configuration.map { entry in
            var entry = entry
            for key in entry.typeAttributes.keys.sorted() where isSecret(entry.type, key) {
                entry.typeAttributes[key] = nil
                removed.append("\(entry.type).\(key)")
            }
            for name in entry.resources.keys.sorted() {
                for key in entry.resources[name]!.keys.sorted() where isSecret(entry.type, key) {
                    entry.resources[name]![key] = nil
                    removed.append("\(entry.type).\(name).\(key)")
                }
            }
            return entry
        }
        return (kept, removed)
    }

    /// `configuration` with each secret value replaced by ``placeholder``.
    public static func masking(_ configuration: [TypeConfiguration],
                               isSecret: (_ type: String, _ key: String) -> Bool) -> [TypeConfiguration] {
        configuration.map { entry in
            var entry = entry
            for key in entry.typeAttributes.keys where isSecret(entry.type, key) { entry.typeAttributes[key] = placeholder }
            for name in entry.resources.keys {
                for key in entry.resources[name]!.keys where isSecret(entry.type, key) {
                    entry.resources[name]![key] = placeholder
                }
            }
            return entry
        }
    }
}

extension SecretValues {
    /// `document` with each stored secret it leaves out put back, and the
    /// `type.resource.key` (or `type.key`) of each: what `cdb import` does
    /// unless `replace` (`--replace-secrets`), because a default export
    /// leaves secrets out and importing it must not erase them.
    ///
    /// Only resources and `[TYPE]` tables the file has are concerned (a
    /// resource the file does not have is kept or, with `--replace-all`,
    /// removed whole, as the plan says). A `[TYPE]` table without keys of
    /// its own keeps all the type's overrides anyway, except under
    /// `replaceAll`, where it gets its stored secrets.
    ///
    /// - Returns: the document to import; the secrets `kept`; with
    ///   `replace`, the secrets the import `removes` (nothing is put back).
    public static func keepingStored(in document: TOMLMapping.Document, current: [TypeConfiguration],
                                     replace: Bool, replaceAll: Bool,
                                     isSecret: (_ type: String, _ key: String) -> Bool)
        -> (document: TOMLMapping.Document, kept: [String], removes: [String]) {
        var document = document
        var kept: [String] = [], removes: [String] = []
        for entry in current.sorted(by: { $0.type < $1.type }) {
            guard var section = document.types[entry.type] else { continue }
            if section.typeAttributes != nil || replaceAll {
                var overrides = section.typeAttributes ?? [:]
                for key in entry.typeAttributes.keys.sorted() where isSecret(entry.type, key) && overrides[key] == nil {
                    if replace {
                        removes.append("\(entry.type).\(key)")
                    } else {
                        overrides[key] = entry.typeAttributes[key]
                        kept.append("\(entry.type).\(key)")
                    }
                }
                if section.typeAttributes != nil || !overrides.isEmpty { section.typeAttributes = overrides }
            }
            for name in entry.resources.keys.sorted() {
                guard var values = section.resources[name] else { continue }
                let stored = entry.resources[name]!
                for key in stored.keys.sorted() where isSecret(entry.type, key) && values[key] == nil {
                    if replace {
                        removes.append("\(entry.type).\(name).\(key)")
                    } else {
                        values[key] = stored[key]
                        kept.append("\(entry.type).\(name).\(key)")
                    }
                }
                section.resources[name] = values
            }
            document.types[entry.type] = section
        }
        return (document, kept, removes)
    }
}

extension CDBEditor {
    /// Whether `key` of `type` is a secret by the type's schema (false when
    /// the schema cannot be had).
    public func isSecret(type: String, key: String) -> Bool {
        (try? schema(for: type))?.spec(key)?.isSecret ?? false
    }
}
