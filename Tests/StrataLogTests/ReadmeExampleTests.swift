import Foundation
import Strata
import StrataLog
import StrataTestSupport
import Testing

/// The README's Swift example, compiled and run. The code between the markers must match the
/// README's block line for line (the README writes the directory as "./strata-data").
@Suite("README example")
struct ReadmeExampleTests {
    static func example(directory: String) async throws {
        // README:begin
        let store = try LogEventStore(directory: directory)
        let placed = try await store.append(to: "order-42", expectedRevision: .noStream, events: [
            EventData(type: "order-placed", json: #"{"total":42}"#),
            EventData(type: "order-paid", json: #"{"amount":42}"#),
        ])
        print("stored at positions \(placed.firstPosition)...\(placed.lastPosition)")
        for try await event in store.readStream("order-42") {
            print(event.revision, event.type, String(decoding: event.data, as: UTF8.self))
        }
        for try await message in store.subscribeToAll(from: .start) {
            if case .caughtUp = message { break }  // caught up: from here on, messages are live
        }
        try await store.close()
        // README:end
    }

    @Test("the README's example compiles, runs, and is the code the README shows")
    func readmeExample() async throws {
        let dir = TemporaryDirectory.freshPath("readme")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await ReadmeExampleTests.example(directory: dir)
        let store = try LogEventStore(directory: dir)
        let events = try await store.readStream("order-42").collect()
        #expect(events.map(\.type) == ["order-placed", "order-paid"])
        try await store.close()

        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        func lines(_ text: String, from start: String, to end: String) -> [String] {
            let all = text.components(separatedBy: "\n")
            guard let a = all.firstIndex(where: { $0.contains(start) }),
                  let b = all[(a + 1)...].firstIndex(where: { $0.contains(end) }) else { return [] }
            return all[(a + 1)..<b].map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        let shown = lines(readme, from: "<!-- example:start -->", to: "<!-- example:end -->")
            .filter { !$0.hasPrefix("```") && !$0.hasPrefix("import ") }
        let compiled = lines(source, from: "// README:" + "begin", to: "// README:" + "end")
            .map { $0.replacingOccurrences(of: "directory: directory", with: "directory: \"./strata-data\"") }
        #expect(!shown.isEmpty)
        #expect(shown == compiled)
    }
}
