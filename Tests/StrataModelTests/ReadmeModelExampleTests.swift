import Foundation
import Strata
import StrataConsumers
import StrataLog
import StrataModel
import StrataTestSupport
import Testing

// README:types:begin
struct ReadmeUserCreated: DomainEvent {
    static let eventType = "user:created"
    var name: String
    var email: String
}

struct ReadmeUserEmailSet: DomainEvent {
    static let eventType = "user:email-set"
    var email: String
}

struct ReadmeUser: Codable, Sendable {
    var name = ""
    var email = ""
}
// README:types:end

/// The README's modeling example, compiled and run; the code between the markers must match the
/// README's block line for line (type names here carry a `Readme` prefix to keep them apart from
/// the other tests' types, and the directories are temporary).
@Suite("README modeling example")
struct ReadmeModelExampleTests {
    static func example(directory: String, checkpoints: String) async throws -> String? {
        // README:begin
        let store = try LogEventStore(directory: directory)
        let codec = EventCodec(registry: EventRegistry([ReadmeUserCreated.self, ReadmeUserEmailSet.self]))
        try await store.append(to: "user-42", events: [
            try codec.eventData(ReadmeUserCreated(name: "Ada", email: "ada@example.com"), metadata: EventMetadata(actor: "admin")),
            try codec.eventData(ReadmeUserEmailSet(email: "ada@lovelace.dev")),
        ])
        let users = Reducer<ReadmeUser, AnyDomainEvent>(name: "user", initial: ReadmeUser()) { user, envelope in
            switch envelope.event.value {
            case let created as ReadmeUserCreated: user = ReadmeUser(name: created.name, email: created.email)
            case let changed as ReadmeUserEmailSet: user.email = changed.email
            default: break
            }
        }
        let user = try await Repository(store: store, codec: codec).reduce(stream: "user-42", using: users)
        print(user?.email ?? "no such user")

        let projector = Projector(store: store, codec: codec)
        projector.once(ReadmeUserCreated.self) { envelope in print("welcome mail to", envelope.event.email) }
        projector.on(ReadmeUserEmailSet.self) { envelope, _ in print("latest email:", envelope.event.email) }
        let consumer = projector.consumer(name: "users", checkpoints: try FileCheckpointStore(directory: checkpoints))
        consumer.start()
        try await consumer.waitUntilCaughtUp()
        await consumer.stop()
        try await store.close()
        // README:end
        return user?.email
    }

    @Test("the README's modeling example compiles, runs, and is the code the README shows")
    func readmeExample() async throws {
        let dir = TemporaryDirectory.freshPath("readme-model")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let email = try await Self.example(directory: dir + "/data", checkpoints: dir + "/checkpoints")
        #expect(email == "ada@lovelace.dev")
        #expect(try FileCheckpointStore(directory: dir + "/checkpoints").loadCheckpoint("users") == 2)

        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        func lines(_ text: String, from start: String, to end: String) -> [String] {
            let all = text.components(separatedBy: "\n")
            guard let a = all.firstIndex(where: { $0.contains(start) }),
                  let b = all[(a + 1)...].firstIndex(where: { $0.contains(end) }) else { return [] }
            return all[(a + 1) ..< b].map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        let shown = lines(readme, from: "<!-- example:model:start -->", to: "<!-- example:model:end -->")
            .filter { !$0.hasPrefix("```") && !$0.hasPrefix("import ") }
        let compiled = (lines(source, from: "// README:types:" + "begin", to: "// README:types:" + "end")
            + lines(source, from: "// README:" + "begin", to: "// README:" + "end"))
            .map {
                $0.replacingOccurrences(of: "Readme", with: "")
                    .replacingOccurrences(of: "directory: directory", with: "directory: \"./strata-data\"")
                    .replacingOccurrences(of: "directory: checkpoints", with: "directory: \"./checkpoints\"")
            }
        #expect(!shown.isEmpty)
        #expect(shown == compiled)
    }
}
