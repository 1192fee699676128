/// The words of the action's reason when the host caught a plugin's answer
/// contradicting what the host sees of its declared processes, and
/// corrected it. Worded once: `ActionJob` writes them into the reason (the
/// log line and `--json`), and `fshost verify` names the lie by them.
public enum PluginLie {
    /// Monitor said HA_SUCCESS while a declared process is missing; the
    /// host answers HA_CMD_FAILED instead (README "Process checks").
    public static let monitorSuccessWithoutProcess = "plugin reported success but declared process"
    /// The plugin's stop said HA_SUCCESS but a declared process still ran;
    /// the host stopped it (TERM, then KILL) and still answers HA_SUCCESS:
    /// the resource is stopped, but the plugin's stop did not do it.
    public static let stopLeftProcess = "the plugin's stop left declared process"
}
