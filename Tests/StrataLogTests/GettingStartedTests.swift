import Foundation
import Strata
import Testing

/// The DocC catalog's getting-started article (Sources/Strata/Strata.docc/GettingStarted.md),
/// compiled and run. The code between the markers must match the article's "Append, read,
/// follow" block line for line.
@Suite("Getting started article")
struct GettingStartedTests {
    static func example() async throws -> [UInt64] {
        // ARTICLE:begin
        let store = InMemoryEventStore()
        let placed = try await store.append(to: "order-7", expectedRevision: .noStream, events: [
            EventData(type: "order-placed", json: #"{"total":30}"#),
            EventData(type: "item-added", json: #"{"sku":"tea"}"#),
        ])
        print("revisions \(placed.firstRevision)...\(placed.lastRevision), positions \(placed.firstPosition)...\(placed.lastPosition)")

        for try await event in store.readStream("order-7") {
            print(event.revision, event.type, String(decoding: event.data, as: UTF8.self))
        }

        // A conflicting writer: the stream exists now, so .noStream fails and nothing is stored.
        do {
            _ = try await store.append(to: "order-7", expectedRevision: .noStream, events: [EventData(type: "order-placed", json: "{}")])
        } catch StrataError.wrongExpectedRevision(let stream, let expected, let actual) {
            print("\(stream): expected \(expected), found revision \(actual.map(String.init) ?? "none")")
        }

        // Catch up with $all, then go on live.
        var seen: [UInt64] = []
        for try await message in store.subscribeToAll(from: .start) {
            switch message {
            case .event(let event): seen.append(event.position)
            case .caughtUp: break
            default: continue
            }
            if seen.count == 2 { break }
        }
        print("seen positions \(seen)")
        try await store.close()
        // ARTICLE:end
        return seen
    }

    @Test("the article's code compiles, runs, and is the code the article shows")
    func article() async throws {
        #expect(try await Self.example() == [1, 2])
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let article = try String(contentsOf: root.appendingPathComponent("Sources/Strata/Strata.docc/GettingStarted.md"), encoding: .utf8)
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let code = source.components(separatedBy: "// ARTICLE:begin\n")[1].components(separatedBy: "        // ARTICLE:end")[0]
        let shown = code.split(separator: "\n", omittingEmptySubsequences: false).map { $0.count >= 8 ? String($0.dropFirst(8)) : String($0) }
        let block = article.components(separatedBy: "### Append, read, follow")[1].components(separatedBy: "```swift\n")[1].components(separatedBy: "```")[0]
        #expect(shown.joined(separator: "\n") == block, "the article's code differs from the test's")
    }
}
