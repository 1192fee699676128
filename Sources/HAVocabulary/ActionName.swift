/// The actions a cluster manager can ask for, in ABI order (`FSHOST_ACTION_*`
/// in `fshost_plugin.h`; HAVocabularyTests holds them equal). The raw value
/// is the word on the command line; the SDK's `Action` is this type.
public enum ActionName: String, Sendable, CaseIterable {
    case exclusive, start, stop, monitor, restart, validate

    /// Index in the ABI (`FSHOST_ACTION_*`): the position in ``allCases``.
    public var abiIndex: Int {
        switch self {
        case .exclusive: 0
        case .start: 1
        case .stop: 2
        case .monitor: 3
        case .restart: 4
        case .validate: 5
        }
    }
}
