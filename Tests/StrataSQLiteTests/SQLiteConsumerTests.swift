import Foundation
import Strata
import StrataConsumers
import StrataSQLite
import StrataTestSupport
import Synchronization
import Testing

/// A ``CheckpointedConsumer`` whose read model lives in the store's SQLite file: the batch's
/// writes and the checkpoint commit together, so a failing batch leaves nothing behind and the
/// model counts every event exactly once.
@Suite("SQLite consumers")
struct SQLiteConsumerTests {
    @Test("a failing batch rolls back its read-model writes; retried event by event, every event counts exactly once")
    func effectivelyOnce() async throws {
        let (store, checkpoints, dir) = try await SQLiteCheckpointStoreTests.fixture("consumer")
        defer { TemporaryDirectory.remove(dir) }
        for i in 1 ... 40 {
            try await store.append(to: "order-\(i % 4)", events: [EventData(type: "placed", json: #"{"n":\#(i)}"#)])
        }
        let failOnce = Mutex(true)
        let consumer = CheckpointedConsumer(
            name: "totals", store: store, checkpoints: checkpoints,
            options: ConsumerOptions(batchSize: 16, retry: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(1), maxDelay: .milliseconds(2)))
        ) { events, tx in
            for event in events {
                try tx.execute("INSERT INTO totals(stream, events) VALUES (?, 1) ON CONFLICT(stream) DO UPDATE SET events = events + 1",
                               [.text(event.stream)])
                // Position 20 fails the first time, after the batch already wrote 3 rows.
                if event.position == 20, failOnce.withLock({ let first = $0; $0 = false; return first }) {
                    throw SQLiteCheckpointStoreTests.Failure(reason: "transient")
                }
            }
        }
        consumer.start()
        try await consumer.waitUntilProcessed(through: 40, timeout: .seconds(20))
        await consumer.stop()
        let totals = try await SQLiteCheckpointStoreTests.totals(checkpoints)
        #expect(totals == ["order-0": 10, "order-1": 10, "order-2": 10, "order-3": 10])
        #expect(try await checkpoints.checkpoint(for: "totals") == 40)
        #expect(try await consumer.parked().isEmpty)
        try await checkpoints.close()
        try await store.close()
    }
}
