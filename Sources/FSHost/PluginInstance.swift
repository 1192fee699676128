import FSPluginABI
import HAVocabulary
import PluginLoading

/// One instance of a plugin for one resource (`create` … `destroy` of its
/// descriptor), and its C calls: each answers the plugin's status, counted
/// by ``ExitStatus/init(pluginStatus:)``, with the reason the plugin gave
/// through the host services. The action's protocol (``ActionJob``) calls
/// these and never the descriptor itself.
struct PluginInstance {
    let plugin: LoadedPlugin
    let context: ActionContext
    private let pointer: UnsafeMutableRawPointer
    private var d: fshost_plugin { plugin.descriptor.pointee }

    /// The instance of `plugin` for `context`'s resource, or the result that
    /// says why the plugin could not make one (`HA_NOCFGINFO` unless the
    /// plugin said otherwise).
    static func create(_ plugin: LoadedPlugin, context: ActionContext) -> Result<PluginInstance, CreateFailure> {
        var status = ExitStatus.noConfigInfo.rawValue
        guard let pointer = plugin.descriptor.pointee.create(context.host, &status) else {
            let answer = ExitStatus(pluginStatus: status)
            return .failure(CreateFailure(result: ActionResult(
                status: answer == .success ? .noConfigInfo : answer,
                reason: context.reason ?? "the plugin could not use the resource's attributes")))
        }
        return .success(PluginInstance(plugin: plugin, context: context, pointer: pointer))
    }

    /// Why ``create(_:context:)`` made no instance.
    struct CreateFailure: Error { let result: ActionResult }

    func destroy() { d.destroy(pointer) }

    /// The plugin's validate; success when it has none.
    func validate() -> ActionResult { d.validate.map(call) ?? ActionResult(status: .success, reason: nil) }
    func start() -> ActionResult { call(d.start!) }
    func stop() -> ActionResult { call(d.stop!) }
    /// One probe of the plugin's monitor at `level`.
    func monitor(level: UInt32) -> ActionResult { call { d.monitor!($0, level) } }
    /// The plugin's own exclusive, or nil: the host answers.
    func exclusive() -> ActionResult? { d.exclusive.map(call) }
    /// The plugin's own restart, or nil: the host stops and starts.
    func restart() -> ActionResult? { d.restart.map(call) }

    /// The processes the plugin declares for this resource now.
    func declaredProcesses() -> [ProcessChecks.Declared] { ProcessChecks.declared(by: plugin, instance: pointer) }

    /// Calls one plugin function and collects its reason.
    private func call(_ function: (UnsafeMutableRawPointer?) -> Int32) -> ActionResult {
        context.reason = nil
        let status = ExitStatus(pluginStatus: function(pointer))
        return ActionResult(status: status, reason: context.reason)
    }
}
