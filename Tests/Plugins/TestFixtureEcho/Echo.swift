// testfixture-echo: the test fixture's companion. The build generates its
// C export and its record (companion, EchoCall's signature).
import EchoCall

nonisolated(unsafe) private var served = 0

func serve(_ request: EchoCall.Request) -> EchoCall.Response {
    guard request.times > 0 else { return .refused("times must be positive, not \(request.times)") }
    served += 1
    return .echoed(String(repeating: request.text, count: request.times), served: served)
}
