import Foundation
import StrataSchema
import StrataTestSupport
import Testing

/// Generated code compiles and round-trips events, and a package using the build-tool plugin
/// builds: one SwiftPM package in a scratch folder under /tmp, kept between runs (keyed by the
/// repository's path) so that later runs rebuild only what changed.
@Suite("generated code compiles", .serialized)
struct CodegenCompileTests {
    static let samples: [(type: String, json: String)] = [
        ("user:created", #"{"address":{"city":"Paris","country":"FR","street":"1 Rue de Rivoli","zip":"75001"},"email":"ada@example.com","name":{"family":"Lovelace","given":"Ada"}}"#),
        ("user:email-set", #"{"email":"ada@lovelace.org"}"#),
        ("order:placed", #"{"category":{"children":[{"children":[],"name":"Tea"}],"name":"Drinks"},"contact":"ada@example.com","id":"0f8fad5b-d9cb-469f-a165-70867728950e","labels":{"gift":"yes"},"lines":[{"price":2.5,"quantity":2,"sku":"A1"}],"note":null,"placedAt":"2025-04-25T22:47:07Z","status":"in-transit"}"#),
        ("order:placed", #"{"contact":{"phone":"+33 1"},"id":"0f8fad5b-d9cb-469f-a165-70867728950f","lines":[{"price":10,"quantity":1,"sku":"B2"}],"note":"ring twice","placedAt":"2025-04-26T08:00:00.5+02:00","status":"paid"}"#),
        ("2fa:enabled", #"{"attributes":{"k":[1,"x",null,true]},"class":"c","data":{"type":"default"},"default":true,"extra":{"n":1.5},"nothing":null,"self":3,"zip-code":"12345"}"#),
    ]

    static let roundTripMain = #"""
        import Foundation
        import StrataModel
        import StrataSchema

        func typeName<E: DomainEvent>(_ type: E.Type) -> String { E.eventType }

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let schemas = try EventSchemaSet(files: Event.schemaFiles)
        while let line = readLine() {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            let event = try Event(type: parts[0], data: Data(parts[1].utf8))
            let data = try event.encodedData(encoder: encoder)
            let meta = event.eventType == UserCreated.eventType ? Data(#"{"auditor":"ops"}"#.utf8) : nil
            let violations = schemas.validate(type: event.eventType, data: data, meta: meta)
            print(event.eventType, String(decoding: data, as: UTF8.self), violations.isEmpty ? "valid" : "\(violations)")
            // The enum is an EventSet: StrataModel's codec writes and reads it back.
            let codec = EventCodec()
            let stored = try codec.eventData(event)
            guard try Event.decode(type: stored.type, payload: stored.data, codec: codec) == event else { fatalError("EventSet round trip") }
            switch event {
            case .userCreated(let e): print("name:", e.name.given, e.name.family, e.address?.country?.rawValue ?? "-")
            case .orderPlaced(let e):
                switch e.contact {
                case .email(let email): print("contact email:", email, e.status == .inTransit, e.note ?? "no note")
                case .object(let o): print("contact phone:", o.phone, e.status == .paid, e.note ?? "no note")
                }
            case ._2faEnabled(let e): print("keywords:", e.class, e.default, e.selfValue, e.zipCode, e.data.type == .default)
            case .userEmailSet(let e): print("email:", e.email)
            }
        }
        let meta = try JSONDecoder().decode(UserCreated.Meta.self, from: Data(#"{"auditor":"ops"}"#.utf8))
        print("meta:", meta.auditor)
        print("types:", Event.eventTypes.joined(separator: ","), typeName(UserEmailSet.self))
        do {
            _ = try Event(type: "nope", data: Data("{}".utf8))
        } catch let error as Event.UnknownEventType {
            print(error)
        }
        """#

    static let pluginUserMain = #"""
        import Foundation

        let event = try PluginEvent(type: "user:email-set", data: Data(#"{"email":"x@y.z"}"#.utf8))
        if case .userEmailSet(let e) = event { print("plugin:", e.email, PluginEvent.eventTypes.count) }
        """#

    /// The scratch folder: /tmp/strata-schema-compile-HASH, HASH from the repository path.
    static var scratch: URL {
        var hash: UInt64 = 0xcbf29ce484222325
        for byte in SchemaTestSupport.repositoryRoot.path.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100000001b3 }
        return URL(fileURLWithPath: "/tmp/strata-schema-compile-" + String(hash, radix: 16))
    }

    /// Writes a file only when its content changes, so that the scratch build stays incremental.
    static func write(_ text: String, to url: URL) throws {
        let data = Data(text.utf8)
        if (try? Data(contentsOf: url)) == data { return }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
    }

    /// Copies the sample configs into a folder, replacing what was there.
    static func copyFixtures(to folder: URL) throws {
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: SchemaTestSupport.fixtureEvents, to: folder)
    }

    @Test("generated code compiles, decodes and re-encodes every sample byte for byte, and validates against its own schema table; the plugin builds a package")
    func compileAndRoundTrip() async throws {
        let repo = SchemaTestSupport.repositoryRoot
        let identity = repo.lastPathComponent.lowercased()
        let package = Self.scratch.appendingPathComponent("pkg")
        let build = Self.scratch.appendingPathComponent("build")
        try Self.write("""
            // swift-tools-version:6.0
            import PackageDescription

            let package = Package(
                name: "SchemaCompileCheck",
                platforms: [.macOS(.v15)],
                dependencies: [.package(path: \(SwiftLiteral.quote(repo.path)))],
                targets: [
                    .executableTarget(name: "RoundTrip", dependencies: [.product(name: "StrataSchema", package: "\(identity)"),
                                                                         .product(name: "StrataModel", package: "\(identity)")]),
                    .executableTarget(name: "PluginUser", exclude: ["events", "strata-codegen.json"],
                                      plugins: [.plugin(name: "StrataCodegenPlugin", package: "\(identity)")]),
                ]
            )

            """, to: package.appendingPathComponent("Package.swift"))
        let schemas = try EventSchemaSet(folder: SchemaTestSupport.fixtureEvents)
        let generated = try SwiftCodegen.source(for: schemas, options: CodegenOptions(conformances: ["DomainEvent"], imports: ["StrataModel"]))
        try Self.write(generated, to: package.appendingPathComponent("Sources/RoundTrip/Events.swift"))
        try Self.write(Self.roundTripMain, to: package.appendingPathComponent("Sources/RoundTrip/main.swift"))
        try Self.write(Self.pluginUserMain, to: package.appendingPathComponent("Sources/PluginUser/main.swift"))
        try Self.write(#"{"enumName": "PluginEvent"}"#, to: package.appendingPathComponent("Sources/PluginUser/strata-codegen.json"))
        try Self.copyFixtures(to: package.appendingPathComponent("Sources/PluginUser/events"))

        let started = ContinuousClock.now
        var built = try await ChildProcess.run("/usr/bin/env", ["swift", "build", "--package-path", package.path, "--scratch-path", build.path],
                                               directory: package.path, timeout: .seconds(1500))
        if built.status != 0 {
            // A build folder kept from an older checkout can miss a module the package gained
            // since: build once more from scratch before judging the generated code.
            try? FileManager.default.removeItem(at: build)
            built = try await ChildProcess.run("/usr/bin/env", ["swift", "build", "--package-path", package.path, "--scratch-path", build.path],
                                               directory: package.path, timeout: .seconds(1500))
        }
        let buildTime = ContinuousClock.now - started
        print("codegen compile test: swift build of the scratch package took \(buildTime.formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1))))")
        try #require(built.status == 0, "swift build failed: \(String(built.description.suffix(6000)))")

        let input = Self.samples.map { "\($0.type) \($0.json)" }.joined(separator: "\n") + "\n"
        let inputFile = Self.scratch.appendingPathComponent("samples.txt")
        try Data(input.utf8).write(to: inputFile)
        let roundTrip = try await ChildProcess.run("/bin/sh", ["-c", "\"$0\" < \"$1\"", build.appendingPathComponent("debug/RoundTrip").path, inputFile.path],
                                                   directory: package.path, timeout: .seconds(60))
        #expect(roundTrip.status == 0, "\(roundTrip)")
        let lines = roundTrip.stdout.split(separator: "\n").map(String.init)
        #expect(lines == [
            "user:created \(Self.samples[0].json) valid",
            "name: Ada Lovelace FR",
            "user:email-set \(Self.samples[1].json) valid",
            "email: ada@lovelace.org",
            "order:placed \(Self.samples[2].json) valid",
            "contact email: ada@example.com true no note",
            "order:placed \(Self.samples[3].json) valid",
            "contact phone: +33 1 true ring twice",
            "2fa:enabled \(Self.samples[4].json) valid",
            "keywords: c true 3 12345 true",
            "meta: ops",
            "types: 2fa:enabled,order:placed,user:created,user:email-set user:email-set",
            #"unknown event type "nope""#,
        ])

        let plugin = try await ChildProcess.run(build.appendingPathComponent("debug/PluginUser").path, [], directory: package.path, timeout: .seconds(60))
        #expect(plugin.status == 0, "\(plugin)")
        #expect(plugin.stdout == "plugin: x@y.z 4\n")
    }
}

/// Swift string literals for generated manifests.
enum SwiftLiteral {
    static func quote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
