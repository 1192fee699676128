/// What a file's record must say it is, checked before the file is loaded
/// (the `role` check of ``PluginVerifier``).
public enum PluginRole: Sendable, Equatable {
    /// A resource type: exports `fshost_plugin_entry`; a companion is refused.
    case resourceType
    /// A companion object whose record carries exactly this call signature
    /// (`<CallType>@<hash>`, written by the build from the call's
    /// declaration): exports `fshost_companion_call`.
    case companion(signature: String)
}
