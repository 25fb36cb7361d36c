import Foundation
import StrataTestSupport
import Testing
import Strata
@testable import StrataLog

@Suite("log store basics")
struct LogStoreSmokeTests {
    @Test("appends survive a reopen, with the index rebuilt or loaded from its checkpoint")
    func reopen() async throws {
        let dir = TemporaryDirectory.freshPath("smoke")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try LogEventStore(directory: dir, configuration: LogConfiguration(durability: .none, segmentSize: 64 * 1024))
        for i in 0..<50 {
            try await store.append(to: "s-\(i % 7)", events: (0..<20).map { j in EventData(type: "t\(j % 3)", json: #"{"i":\#(i),"j":\#(j)}"#) })
        }
        let identity = try await store.identity()
        let all = try await store.readAll().collect()
        #expect(all.count == 1000)
        #expect(all.map(\.position) == Array(1...1000))
        let s3 = try await store.readStream("s-3").collect()
        #expect(s3.map(\.revision) == Array(1...UInt64(s3.count)))
        try await store.close()

        let again = try LogEventStore(directory: dir)
        #expect(try await again.identity() == identity, "the identity survives a reopen")
        let all2 = try await again.readAll(direction: .backward).collect()
        #expect(all2.map(\.position) == Array((1...1000).reversed()))
        #expect(all2.reversed().map(\.id) == all.map(\.id))
        let r = try await again.append(to: "s-3", events: [EventData(type: "x", json: "{}")])
        #expect(r.firstPosition == 1001)
        #expect(r.firstRevision == UInt64(s3.count + 1))
        try await again.close()

        // Without the checkpoint the index is rebuilt from the log.
        try FileManager.default.removeItem(atPath: dir + "/index.ckpt")
        let third = try LogEventStore(directory: dir)
        #expect(try await third.headPosition() == 1001)
        #expect(try await third.readStream("s-3").collect().count == s3.count + 1)
        try await third.close()
        let report = try LogEventStore.verify(directory: dir)
        #expect(report.isOK, "\(report.problems)")
        #expect(report.events == 1001)
    }

    @Test("after retention dropped segments, a store whose checkpoint is gone rebuilds its index from what is left")
    func rebuildAfterRetention() async throws {
        let dir = TemporaryDirectory.freshPath("retention")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let configuration = LogConfiguration(durability: .none, segmentSize: 16 * 1024, retention: LogRetention(maxBytes: 64 * 1024))
        let store = try LogEventStore(directory: dir, configuration: configuration)
        for i in 0..<600 {
            try await store.append(to: "s-\(i % 3)", events: [EventData(type: "t", json: #"{"i":\#(i),"pad":"\#(String(repeating: "x", count: 200))"}"#)])
        }
        let stats = try await store.stats()
        #expect(stats.firstPosition > 1)
        let survivors = try await store.readAll().collect()
        #expect(survivors.first?.position == stats.firstPosition)
        let s1 = try await store.readStream("s-1").collect()
        try await store.close()

        try FileManager.default.removeItem(atPath: dir + "/index.ckpt")
        let reopened = try LogEventStore(directory: dir, configuration: configuration)
        #expect(try await reopened.readAll().collect().map(\.id) == survivors.map(\.id))
        #expect(try await reopened.readStream("s-1").collect().map(\.revision) == s1.map(\.revision))
        let next = try await reopened.append(to: "s-1", events: [EventData(type: "t", json: "{}")])
        #expect(next.firstRevision == (s1.last?.revision ?? 0) + 1)
        #expect(next.firstPosition == 601)
        try await reopened.close()
    }
}
