import CDB

/// Secret attributes (a password, a token; ``AttributeSpec/isSecret``) in
/// what the `cdb` commands print. Decided once, here:
///
/// - `cdb show` prints `(secret)` instead of the value, always;
/// - `cdb export` leaves secret keys out (with a warning naming each key,
///   never the value), unless `--include-secrets`: then the file holds them
///   (it is a backup; import it only from a file kept like the CDB, 0600);
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

extension CDBEditor {
    /// Whether `key` of `type` is a secret by the type's schema (false when
    /// the schema cannot be had).
    public func isSecret(type: String, key: String) -> Bool {
        (try? schema(for: type))?.spec(key)?.isSecret ?? false
    }
}
