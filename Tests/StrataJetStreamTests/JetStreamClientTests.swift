import Foundation
import NIOCore
import Testing
@testable import StrataNATS

@Suite("JetStream client against nats-server", .serialized, .enabled(if: NATSServerProcess.isEnabled, "STRATA_NATS_UNAVAILABLE=1"))
struct JetStreamClientTests {
    @Test("streams, publish acks, Nats-Msg-Id dedup, expected sequences, get-last, ordered and pull consumers")
    func jetStream() async throws {
        try await NATSTestCluster.run(nodes: 1) { cluster in
            let c = try await connect(cluster.urls)
            let js = JetStream(connection: c)
            var config = JetStreamStreamConfig(name: "T", subjects: ["t.>"])
            config.storage = "memory"
            let created = try await js.createStream(config)
            #expect(created.state.lastSeq == 0)
            config.maxMsgs = 1000
            #expect(try await js.updateStream(config).config.maxMsgs == 1000)

            let a1 = try await js.publish("t.a", payload: Array("1".utf8), options: JetStreamPublishOptions(messageID: "m-1"))
            #expect(a1.seq == 1 && a1.duplicate != true)
            let again = try await js.publish("t.a", payload: Array("1".utf8), options: JetStreamPublishOptions(messageID: "m-1"))
            #expect(again.seq == 1 && again.duplicate == true)
            _ = try await js.publish("t.b", payload: Array("2".utf8), options: JetStreamPublishOptions(expectedLastSequence: 1))
            await #expect(throws: NATSError.self) {
                _ = try await js.publish("t.b", payload: Array("x".utf8), options: JetStreamPublishOptions(expectedLastSequence: 1))
            }
            do {
                _ = try await js.publish("t.a", payload: Array("x".utf8), options: JetStreamPublishOptions(expectedLastSubjectSequence: 2))
                Issue.record("a wrong subject sequence was accepted")
            } catch NATSError.jetStream(_, let code, _) {
                #expect(code == NATSError.wrongLastSequenceCode)
            }
            var h = NATSHeaders()
            h["K"] = "v"
            _ = try await js.publish("t.a", payload: Array("3".utf8), headers: h, options: JetStreamPublishOptions(expectedLastSubjectSequence: 1))
            #expect(try await js.streamInfo("T").state.lastSeq == 3)

            let last = try #require(try await js.getLastMessage(stream: "T", subject: "t.a"))
            #expect(last.streamSequence == 3 && String(decoding: last.bytes, as: UTF8.self) == "3" && last.headers?["K"] == "v")
            #expect(try await js.getLastMessage(stream: "T", subject: "t.none") == nil)
            #expect(try await js.getMessage(stream: "T", sequence: 2).map { String(decoding: $0.bytes, as: UTF8.self) } == "2")

            // Ordered consumer from sequence 2, then live.
            let ordered = js.orderedConsumer(stream: "T", startSequence: 2, idleHeartbeat: .milliseconds(500))
            var it = ordered.makeAsyncIterator()
            #expect(try await it.next()?.streamSequence == 2)
            #expect(try await it.next()?.streamSequence == 3)
            _ = try await js.publish("t.c", payload: Array("4".utf8))
            let live = try #require(try await it.next())
            #expect(live.streamSequence == 4 && live.subject == "t.c")
            await ordered.stop()

            // Pull consumer with explicit acks: unacknowledged messages come back.
            let pull = try await js.pullConsumer(stream: "T", durable: "worker", ackWait: .seconds(1))
            let batch = try await pull.fetch(batch: 10, expires: .milliseconds(500))
            #expect(batch.map(\.streamSequence) == [1, 2, 3, 4])
            for m in batch.prefix(3) { try await pull.ack(m) }
            let redelivered = try await pull.fetch(batch: 1, expires: .seconds(3))
            #expect(redelivered.map(\.streamSequence) == [4])
            try await pull.ack(redelivered[0])
            #expect(try await pull.pendingCounts() == (0, 0))
            try await js.deleteStream("T")
            await #expect(throws: NATSError.self) { _ = try await js.streamInfo("T") }
            try await c.close()
        }
    }

    @Test("an ordered consumer whose buffer overflows resets and still delivers every message once, in order")
    func orderedConsumerReset() async throws {
        try await NATSTestCluster.run(nodes: 1) { cluster in
            let c = try await connect(cluster.urls) { $0.subscriptionBufferLimit = 8 }
            let js = JetStream(connection: c)
            var config = JetStreamStreamConfig(name: "R", subjects: ["r"])
            config.storage = "memory"
            _ = try await js.createStream(config)
            for i in 1 ... 200 { _ = try await js.publish("r", payload: Array("\(i)".utf8)) }
            let consumer = js.orderedConsumer(stream: "R", idleHeartbeat: .milliseconds(500))
            var it = consumer.makeAsyncIterator()
            var seen: [UInt64] = []
            for _ in 1 ... 200 {
                let m = try #require(try await it.next())
                #expect(String(decoding: m.bytes, as: UTF8.self) == "\(m.streamSequence)")
                seen.append(m.streamSequence)
                if seen.count % 50 == 0 { try await Task.sleep(for: .milliseconds(100)) }   // fall behind
            }
            #expect(seen == Array(1 ... 200))
            #expect(consumer.resets >= 1)
            await consumer.stop()
            try await c.close()
        }
    }
}
