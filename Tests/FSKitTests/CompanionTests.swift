import FSPluginABI
import XCTest
@testable import FSKit

/// The typed companion call's two halves in one process: what the plugin
/// passes (a request and an empty response slot) and what the generated
/// export does with them.
final class CompanionTests: XCTestCase {
    enum PingCall: CompanionCall {
        static let companionName = "ping"
        static let signature = "PingCall@0000000000000000"
        struct Request: Sendable { var text: String; var times: Int }
        enum Response: Sendable, Equatable { case echoed(String), refused(reason: String) }
    }

    /// What the build generates for a companion serving PingCall.
    static let export: CompanionFunction = { request, response in
        CompanionExport.serve(PingCall.self, request, response) { r in
            r.times > 0 ? .echoed(String(repeating: r.text, count: r.times)) : .refused(reason: "times \(r.times)")
        }
    }

    func testRequestAndResponseCrossTheCallTyped() {
        let call = Companion<PingCall>(function: Self.export)
        XCTAssertEqual(call(PingCall.Request(text: "ab", times: 3)), .echoed("ababab"))
        XCTAssertEqual(call(PingCall.Request(text: "x", times: 0)), .refused(reason: "times 0"))
        // Strings large enough to live on the heap survive the crossing.
        let long = String(repeating: "é", count: 1000)
        XCTAssertEqual(call(PingCall.Request(text: long, times: 2)), .echoed(long + long))
    }

    func testAHostWithoutTheTypedCallGivesNoCompanionAndSaysWhy() throws {
        let resource = FakeHost.resource([:])
        let table = try XCTUnwrap(FakeHost.table)
        let full = table.pointee.struct_size
        defer { table.pointee.struct_size = full }
        table.pointee.struct_size = UInt32(MemoryLayout<fshost_host>.offset(of: \fshost_host.companion_call)!)
        XCTAssertNil(resource.companion(PingCall.self))
        XCTAssertEqual(FakeHost.reason, "this fshost is too old for typed companions (no companion_call)")
    }

    func testACompanionTheHostRefusesIsNil() {
        // FakeHost's companion_call answers NULL, as the host does for a
        // missing, refused or mismatched companion.
        XCTAssertNil(FakeHost.resource([:]).companion(PingCall.self))
    }
}
