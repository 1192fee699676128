import FSPluginABI
import XCTest
@testable import FSKit

/// Typed attributes: one declaration gives the schema the host checks and
/// the typed value `init` reads — defaults applied, no `?? default`.
final class TypedAttributeTests: XCTestCase {
    enum Client: String, CaseIterable, Sendable { case curl, builtin }

    static let port = Attribute.port("port", default: 80, "the port")
    static let config = Attribute.path("config", "the config").required
    static let pidfile = Attribute.path("pidfile", "the pidfile")
    static let client = Attribute.choice("http_client", default: Client.curl, "the client")
    static let statusClass = Attribute.integer("status_class", default: 2, oneOf: [2, 3, 4], "expected class")
    static let workers = Attribute.integer("workers", in: 1...64, "worker count")
    static let timeout = Attribute.positiveDuration("http_timeout", default: .seconds(5), "GET limit")
    static let address = Attribute.ipAddress("address", default: "127.0.0.1", "where to connect")
    static let user = Attribute.user("user", default: "root", "run as")
    static let password = Attribute.secret("password", "the password")
    static let command = Attribute.command("start_command", default: ["nginx", "-c", "x"], "start")
    static let tls = Attribute.boolean("tls", default: false, "HTTPS")

    // MARK: Declarations carry kind, default, help and constraints

    func testDeclarationsCarryKindDefaultAndConstraints() {
        XCTAssertEqual(Self.port.kind, .port)
        XCTAssertEqual(Self.port.defaultValue, "80")
        XCTAssertFalse(Self.port.isRequired)
        XCTAssertEqual(Self.config.kind, .path)
        XCTAssertTrue(Self.config.isRequired)
        XCTAssertNil(Self.config.defaultValue)
        XCTAssertEqual(Self.client.constraint.allowedValues, ["curl", "builtin"])
        XCTAssertEqual(Self.client.defaultValue, "curl")
        XCTAssertEqual(Self.statusClass.constraint.allowedValues, ["2", "3", "4"])
        XCTAssertEqual(Self.workers.constraint.minimum, 1)
        XCTAssertEqual(Self.workers.constraint.maximum, 64)
        XCTAssertEqual(Self.timeout.kind, .duration)
        XCTAssertEqual(Self.timeout.defaultValue, "5000ms")
        XCTAssertEqual(Self.timeout.constraint.minimum, 1, "positive: at least 1 ms")
        XCTAssertEqual(Self.address.kind, .ipAddress)
        XCTAssertEqual(Self.user.kind, .user)
        XCTAssertTrue(Self.password.isSecret)
        XCTAssertFalse(Self.port.isSecret)
        XCTAssertEqual(Self.command.defaultValue, #"["nginx","-c","x"]"#)
        XCTAssertEqual(Self.tls.defaultValue, "false")
        XCTAssertEqual(Self.port.description, "the port")
    }

    func testTheUntypedFormStillDeclaresAnAttribute() {
        let old = Attribute("port", .port, required: true, default: nil, "p")
        XCTAssertEqual(old.kind, .port)
        XCTAssertTrue(old.isRequired)
        XCTAssertTrue(old.constraint.isEmpty)
        XCTAssertFalse(old.isSecret)
    }

    // MARK: Values arrive typed, defaults applied

    func testValuesArriveTyped() {
        let resource = FakeHost.resource(["port": "8080", "config": "/etc/nginx.conf", "http_client": "builtin",
                                          "status_class": "3", "workers": "4", "http_timeout": "250ms",
                                          "address": "::1", "user": "www-data", "password": "hunter2",
                                          "start_command": #"["a","b c"]"#, "tls": "true"])
        let port: Int = resource[Self.port]
        XCTAssertEqual(port, 8080)
        let config: String = resource[Self.config]
        XCTAssertEqual(config, "/etc/nginx.conf")
        XCTAssertNil(resource[Self.pidfile])
        XCTAssertEqual(resource[Self.client], .builtin)
        XCTAssertEqual(resource[Self.statusClass], 3)
        XCTAssertEqual(resource[Self.workers], 4)
        XCTAssertEqual(resource[Self.timeout], .milliseconds(250))
        XCTAssertEqual(resource[Self.address].description, "::1")
        XCTAssertEqual(resource[Self.user], "www-data")
        XCTAssertEqual(resource[Self.password]?.revealed, "hunter2")
        XCTAssertEqual(resource[Self.command], ["a", "b c"])
        XCTAssertTrue(resource[Self.tls])
    }

    func testUnsetValuesAreTheDeclaredDefaults() {
        let resource = FakeHost.resource([:])
        XCTAssertEqual(resource[Self.port], 80)
        XCTAssertEqual(resource[Self.client], .curl)
        XCTAssertEqual(resource[Self.timeout], .seconds(5))
        XCTAssertEqual(resource[Self.address].description, "127.0.0.1")
        XCTAssertEqual(resource[Self.command], ["nginx", "-c", "x"])
        XCTAssertFalse(resource[Self.tls])
        XCTAssertNil(resource[Self.workers])
        XCTAssertNil(resource[Self.password])
    }

    /// The host says which values the CDB sets: a value equal to its
    /// default, set explicitly, is told from an untouched default; a host
    /// that cannot tell answers nil.
    func testIsSetTellsAnExplicitValueFromItsDefault() {
        let timeout = Attribute.positiveDuration("connect_timeout", default: .seconds(2), "t")
        let resource = FakeHost.resource(["connect_timeout": "2s", "level2_timeout": "3s"])
        XCTAssertNil(resource.isSet(timeout), "no answer: the host cannot tell")
        FakeHost.explicit = ["connect_timeout", "level2_timeout"]
        XCTAssertEqual(resource.isSet(timeout), true, "set to its default, explicitly")
        XCTAssertEqual(resource[timeout], .seconds(2))
        FakeHost.explicit = ["level2_timeout"]
        XCTAssertEqual(resource.isSet(timeout), false, "the default")
        XCTAssertEqual(resource.isSet("level2_timeout"), true)
    }

    func testDurationsReadEveryUnit() {
        XCTAssertEqual(Attribute.decodeDuration("1500ms"), .milliseconds(1500))
        XCTAssertEqual(Attribute.decodeDuration("2s"), .seconds(2))
        XCTAssertEqual(Attribute.decodeDuration("2m"), .seconds(120))
        XCTAssertNil(Attribute.decodeDuration("250us"), "the host's grammar has no microseconds")
        XCTAssertEqual(Attribute.decodeDuration("40"), .seconds(40), "a bare number is seconds, as for the host")
        XCTAssertNil(Attribute.decodeDuration("-1ms"))
        XCTAssertNil(Attribute.decodeDuration("soon"))
    }

    // MARK: A value the SDK cannot read is refused before init

    func testAnUnreadableValueIsNamedBeforeInit() {
        let attributes: [Attribute] = [Self.port, Self.config, Self.client]
        XCTAssertNil(unreadableAttribute(attributes, in: FakeHost.resource(["config": "/x"])))
        XCTAssertEqual(unreadableAttribute(attributes, in: FakeHost.resource(["config": "/x", "port": "eighty"]))?.name, "port")
        XCTAssertEqual(unreadableAttribute(attributes, in: FakeHost.resource([:]))?.name, "config", "required and missing")
        XCTAssertEqual(unreadableAttribute(attributes, in: FakeHost.resource(["config": "/x", "http_client": "wget"]))?.name,
                       "http_client")
    }

    /// What the subscript answers when a value cannot be read (which
    /// `create` rules out): the declared default, else the kind's neutral
    /// value — found only then (issue 10: finding it at declaration cost
    /// every plugin entry dynamic casts).
    func testAnUnreadableValueFallsBackToTheDefaultOrTheNeutralValue() {
        let resource = FakeHost.resource(["port": "eighty", "http_client": "wget"])
        XCTAssertEqual(resource[Self.port], 80)
        XCTAssertEqual(resource[Self.client], .curl)
        XCTAssertEqual(resource[Self.config], "", "required and missing: the neutral value")
        XCTAssertEqual(resource[Self.config.monitorOnly], "", "the same through a derived declaration")
        let id = Attribute.integer("export_id", in: 1...9, "id").required
        XCTAssertEqual(FakeHost.resource([:])[id], 0)
        XCTAssertEqual(FakeHost.resource(["export_id": "7"])[id], 7)
    }

    // MARK: Action defaults

    /// Timeouts declared by a function (no dictionary: issue 10) answer
    /// each action its own, and the standard timeout where it says nil;
    /// the dictionary form is unchanged.
    func testActionDefaultsFromAFunctionFallBackToTheStandardTimeouts() {
        let declared = ActionDefaults(timeout: { $0 == .monitor ? .seconds(15) : $0 == .start ? .seconds(30) : nil },
                                      level: 2, retries: 0)
        XCTAssertEqual(declared.timeout(.monitor), .seconds(15))
        XCTAssertEqual(declared.timeout(.start), .seconds(30))
        XCTAssertEqual(declared.timeout(.stop), ActionDefaults.standardTimeout(.stop))
        XCTAssertTrue(declared.timeouts.isEmpty)
        XCTAssertEqual(declared.level, 2)
        XCTAssertEqual(declared.retries, 0)
        let dictionary = ActionDefaults(timeouts: [.stop: .seconds(7)])
        XCTAssertEqual(dictionary.timeout(.stop), .seconds(7))
        XCTAssertEqual(dictionary.timeout(.monitor), ActionDefaults.standardTimeout(.monitor))
    }

    // MARK: Secrets

    func testASecretPrintsAsPlaceholder() {
        let secret = Secret("hunter2")
        XCTAssertEqual("\(secret)", "(secret)")
        XCTAssertEqual(String(describing: secret), "(secret)")
        XCTAssertEqual(String(reflecting: secret), "(secret)")
        var dumped = ""
        dump(secret, to: &dumped)
        XCTAssertFalse(dumped.contains("hunter2"), dumped)
        XCTAssertEqual(secret.revealed, "hunter2")
    }

    // MARK: The C descriptor carries the constraints

    func testDescriptorCarriesConstraintsInTheAppendedFields() throws {
        let entry = PluginEntry(exporting: Sample.self, typeName: "sample")
        let d = try XCTUnwrap(entry.plugin).pointee
        XCTAssertEqual(String(cString: d.type_name), "sample", "the name the build derived, not one the plugin wrote")
        XCTAssertEqual(Int(d.attribute_size), MemoryLayout<fshost_attribute>.size)
        let attributes = (0..<Int(d.attribute_count)).map { d.attributes[$0] }
        let byName = Dictionary(uniqueKeysWithValues: attributes.map { (String(cString: $0.name), $0) })

        let client = try XCTUnwrap(byName["http_client"])
        XCTAssertEqual(client.allowed_count, 2)
        XCTAssertEqual((0..<2).map { String(cString: client.allowed_values![$0]!) }, ["curl", "builtin"])

        let workers = try XCTUnwrap(byName["workers"])
        XCTAssertEqual(workers.flags & UInt32(FSHOST_ATTR_FLAG_MINIMUM), UInt32(FSHOST_ATTR_FLAG_MINIMUM))
        XCTAssertEqual(workers.flags & UInt32(FSHOST_ATTR_FLAG_MAXIMUM), UInt32(FSHOST_ATTR_FLAG_MAXIMUM))
        XCTAssertEqual(workers.minimum, 1)
        XCTAssertEqual(workers.maximum, 64)

        let password = try XCTUnwrap(byName["password"])
        XCTAssertEqual(password.flags & UInt32(FSHOST_ATTR_FLAG_SECRET), UInt32(FSHOST_ATTR_FLAG_SECRET))
        XCTAssertEqual(password.allowed_count, 0)

        XCTAssertEqual(byName["address"]?.type, UInt32(FSHOST_ATTR_IP_ADDRESS))
        XCTAssertEqual(byName["user"]?.type, UInt32(FSHOST_ATTR_USER))
        XCTAssertEqual(byName["config"]?.required, 1)
        XCTAssertEqual(byName["port"]?.flags, 0, "no constraint, no flag")
    }
}

/// A plugin type declared the typed way, for the descriptor test.
struct Sample: ResourceType {
    static let summary = "sample"
    static let attributes: [Attribute] = [
        TypedAttributeTests.port, TypedAttributeTests.config, TypedAttributeTests.client, TypedAttributeTests.workers,
        TypedAttributeTests.address, TypedAttributeTests.user, TypedAttributeTests.password,
    ]
    static let levels = [MonitorLevel(1, "none", checks: "nothing", cost: "none")]
    init(resource: Resource) throws(ConfigurationError) {}
    func start() -> Outcome { .success }
    func stop() -> Outcome { .success }
    func probe(level: UInt32) -> Outcome { .success }
}
