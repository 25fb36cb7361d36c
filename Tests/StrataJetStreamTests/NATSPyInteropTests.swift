import Foundation
import NIOCore
import Strata
import StrataJetStream
import StrataNATS
import StrataTestSupport
import Testing

/// Runs Tests/python/nats_interop.py with `python3` and returns its standard output.
func runPython(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> String {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("python/nats_interop.py")
    let outcome = try await ChildProcess.run("/usr/bin/env", ["python3", script.path] + arguments, timeout: timeout)
    guard outcome.status == 0 && !outcome.timedOut else { throw NATSTestError("python3 \(arguments) failed: \(outcome)") }
    return outcome.stdout
}

@Suite("nats-py interop", .serialized, .enabled(if: NATSServerProcess.isEnabled, "STRATA_NATS_UNAVAILABLE=1"))
struct NATSPyInteropTests {
    @Test("nats-py reads and decodes what the Strata store commits, as docs/JETSTREAM.md describes")
    func pythonReadsStrata() async throws {
        try await NATSTestCluster.run(nodes: 1) { cluster in
            let store = try await openStore(cluster.urls, store: "interop")
            try await store.append(to: "order-1", events: [EventData(type: "placed", json: #"{"total":5}"#),
                                                           EventData(type: "paid", json: #"{"ok":true}"#, metadata: #"{"tags":["t"]}"#)])
            try await store.append([AppendRequest(stream: "café ☕", events: [EventData(type: "brewed", json: "{}")]),
                                    AppendRequest(stream: "order-1", expectedRevision: .exact(2), events: [EventData(type: "shipped", json: "[]")])])
            try await store.setStreamMetadata("order-1", StreamMetadata(maxCount: 10))
            try await store.append(to: "a.b*c>", event: EventData(type: "odd", json: "1"))
            var mine: [RecordedEvent] = []
            for try await e in store.readAll() { mine.append(e) }
            try await store.close()

            let lines = try await runPython([cluster.urls[0], "decode", "STRATA_interop"]).split(separator: "\n")
            #expect(lines.count == mine.count)
            for (line, e) in zip(lines, mine) {
                let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                #expect(o["position"] as? Int == Int(e.position))
                #expect(o["stream"] as? String == e.stream)
                #expect(o["revision"] as? Int == Int(e.revision))
                #expect(o["id"] as? String == e.id.uuidString)
                #expect(o["type"] as? String == e.type)
                #expect(o["data"] as? String == String(decoding: e.data, as: UTF8.self))
                #expect((o["metadata"] as? String) == e.metadata.map { String(decoding: $0, as: UTF8.self) })
                #expect(o["recordedAt"] as? Int == Int(e.recordedAtMicroseconds))
            }
            let subjects = lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }.compactMap { $0["subject"] as? String }
            #expect(subjects.first == "strata.interop.s.\(SubjectEncoding.token(for: "order-1"))")
            #expect(subjects.contains("strata.interop.m"))
            #expect(SubjectEncoding.stream(for: SubjectEncoding.token(for: "a.b*c>")) == "a.b*c>")
        }
    }

    @Test("Strata's client reads what nats-py publishes, headers and deduplication included")
    func strataReadsPython() async throws {
        try await NATSTestCluster.run(nodes: 1) { cluster in
            let c = try await connect(cluster.urls)
            let js = JetStream(connection: c)
            _ = try await js.createStream(JetStreamStreamConfig(name: "PY", subjects: ["py.>"]))
            let answer = try await runPython([cluster.urls[0], "publish", "PY", "py.in"])
            #expect(answer.contains(#""seqs": [1, 2, 3]"#) && answer.contains(#""duplicate": true"#) && answer.contains(#""duplicateSeq": 1"#))
            let consumer = js.orderedConsumer(stream: "PY", idleHeartbeat: .milliseconds(500))
            var it = consumer.makeAsyncIterator()
            for i in 0 ..< 3 {
                let m = try #require(try await it.next())
                #expect(m.streamSequence == UInt64(i + 1) && m.subject == "py.in")
                #expect(String(decoding: m.bytes, as: UTF8.self) == "py-\(i)")
                #expect(m.headers?["Origin"] == "nats-py" && m.headers?["Index"] == "\(i)" && m.headers?["Nats-Msg-Id"] == "py-\(i)")
            }
            await consumer.stop()
            #expect(try await js.streamInfo("PY").state.messages == 3)
            try await c.close()
        }
    }
}
