import Foundation
import Strata
import StrataMigration
@testable import StrataNATS
import StrataTestSupport
import Testing

/// `strata import --from eventbase`: an eventbase-style JetStream stream (keys base64 in the
/// subjects, as the seed describes), written by hand on a real nats-server, imported exactly
/// (issue 19). Loopback, one node, bounded.
@Suite("importing a NATS JetStream stream (eventbase)", .serialized, .enabled(if: NATSServerProcess.isEnabled, "STRATA_NATS_UNAVAILABLE=1"))
struct NATSStreamImportTests {
    @Test("every message in sequence order with its bytes, type, subject, storage time and derived id; eventbase keys decoded; a second run stores nothing")
    func importsExactly() async throws {
        try await NATSTestCluster.run(nodes: 1) { cluster in
            let connection = try await connect(cluster.urls)
            let js = JetStream(connection: connection)
            var config = JetStreamStreamConfig(name: "myapp", subjects: ["myapp.>"])
            config.storage = "memory"
            _ = try await js.createStream(config)
            let key = Data("user:1/ä".utf8).base64EncodedString()
            let payloads: [(String, [UInt8])] = [
                ("myapp.put.\(key)", Array(#"{"type":"put","data":{"name":"Ada"}}"#.utf8)),
                ("myapp.put.\(key)", Array(#"{"data":{"name":"Ada L."}}"#.utf8)),
                ("myapp.delete.\(key)", [0xFF, 0x00, 0x01]),
                ("myapp.misc.x!", Array(#"["not an object"]"#.utf8)),
            ]
            let started = Date()
            for (subject, payload) in payloads { _ = try await js.publish(subject, payload: payload) }

            let store = InMemoryEventStore()
            let importer = try NATSStreamImport()
            let summary = try await importer.run(source: "myapp", from: js, into: store)
            #expect(summary.events == 4 && summary.imported == 4)
            // Published after the first run: imported by the next one, nothing twice.
            _ = try await js.publish("myapp.put.\(key)", payload: Array(#"{"type":"put"}"#.utf8))
            let again = try await importer.run(source: "myapp", from: js, into: store)
            #expect(again.events == 5 && again.imported == 1)

            let events = try await store.readStream("myapp").collect()
            #expect(events.map(\.type) == ["put", "eventbase.message", "eventbase.message", "eventbase.message", "put"])
            #expect(events.map { Array($0.data) } == payloads.map(\.1) + [Array(#"{"type":"put"}"#.utf8)])
            #expect(events[2].contentType == .binary && events[0].contentType == .json)
            #expect(events.map(\.id) == (1...5).map { NameBasedUUID.make(namespace: NATSStreamImport.namespace, name: "myapp:\($0)") })
            let metadata = try #require(try JSONSerialization.jsonObject(with: events[0].metadata ?? Data()) as? [String: Any])
            let nats = try #require(metadata["nats"] as? [String: Any])
            #expect(nats["stream"] as? String == "myapp" && nats["seq"] as? Int == 1 && nats["subject"] as? String == "myapp.put.\(key)")
            #expect(nats["key"] as? String == "user:1/ä", "the eventbase key is decoded from the subject")
            let time = try #require(nats["time"] as? String)
            #expect(metadata["ts"] as? String == time)
            let stored = try #require(try? Date(time, strategy: .iso8601))
            #expect(abs(stored.timeIntervalSince(started)) < 120, "the server's storage time: \(time)")
            let fourth = try #require(try JSONSerialization.jsonObject(with: events[3].metadata ?? Data()) as? [String: Any])
            #expect((fourth["nats"] as? [String: Any])?["key"] == nil, "x! is not base64")

            // Into another stream of another store (ids are unique in a store: the same store
            // already holds these); a missing JetStream stream is an error naming it.
            let other = try NATSStreamImport(options: .init(stream: "imported"))
            let second = InMemoryEventStore()
            #expect(try await other.run(source: "myapp", from: js, into: second).imported == 5)
            #expect(try await second.readStream("imported").collect().count == 5)
            #expect(try await other.run(source: "myapp", from: js, into: store).imported == 0)
            do {
                _ = try await importer.run(source: "nosuch", from: js, into: store)
                Issue.record("a missing stream was imported")
            } catch StrataError.io(let path, _, _) {
                #expect(path == "nosuch")
            }
            try await connection.close()
        }
    }
}
