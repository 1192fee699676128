import CDB
import HAVocabulary

/// A secret attribute's value never reaches a log line, the reason printed
/// with the status, or `--json`: whatever a plugin writes, the host replaces
/// each secret value of the resource by `(secret)` before it prints.
enum SecretRedaction {
    /// The placeholder printed instead of a secret.
    static let placeholder = "(secret)"

    /// The non-empty values of the secret attributes among `attributes`,
    /// longest first (so a secret containing another is replaced whole).
    static func values(of specs: [AttributeSpec], in attributes: [String: String]) -> [String] {
        specs.filter(\.isSecret).compactMap { attributes[$0.name] }.filter { !$0.isEmpty }
            .sorted { $0.utf8.count > $1.utf8.count }
    }

    /// Secrets shorter than this are not replaced where they occur but
    /// withhold the whole text: replacing a short value inside ordinary
    /// words shows it (`password=i` turns "visible" into
    /// "v(secret)s(secret)ble").
    static let shortestReplaceable = 8

    /// What is printed instead of a text that held a short secret.
    static let withheld = "(text withheld: it contains the value of a secret attribute)"

    /// `text` with every occurrence of each secret replaced, or
    /// ``withheld`` when a secret shorter than ``shortestReplaceable``
    /// bytes occurs in it.
    static func redact(_ text: String, secrets: [String]) -> String {
        var text = text
        for secret in secrets where text.containsText(secret) {
            if secret.utf8.count < shortestReplaceable { return withheld }
            text = text.replacingText(secret, with: placeholder)
        }
        return text
    }
}

extension Logger {
    /// `message` with this resource's secrets replaced (no work when there are none).
    func redacted(_ message: String) -> String {
        secrets.isEmpty ? message : SecretRedaction.redact(message, secrets: secrets)
    }
}
