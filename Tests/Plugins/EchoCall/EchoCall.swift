// The companion call of the test fixture: declared once, depended on by
// TestFixture and its companion testfixture-echo. Strings, integers and an
// enum with payloads cross between the two images.
import FSKit

public enum EchoCall: CompanionCall {
    public static let companionName = "echo"

    public struct Request: Sendable, Equatable {
        public var text: String
        public var times: Int
        public init(text: String, times: Int) {
            self.text = text
            self.times = times
        }
    }

    public enum Response: Sendable, Equatable {
        /// `text` `times` over, and how many times the companion has served
        /// in this process (1 on the first call: it is loaded once).
        case echoed(String, served: Int)
        case refused(String)
    }
}
