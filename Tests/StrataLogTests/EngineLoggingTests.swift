import Foundation
import InMemoryLogging
import Logging
import MetricsTestKit
import Strata
import StrataStorage
import Synchronization
import Testing
@testable import StrataLog
import StrataConsumers

/// The engine reports what it does (issue 17, observability): opening, torn tails cut on
/// recovery, failures that stop the store. By default it logs nothing.
@Suite("Engine logging")
struct EngineLoggingTests {
    /// Small segments: the simulated disk keeps every byte of a preallocated segment in memory.
    static let small = LogConfiguration(segmentSize: 8192)

    /// swift-log's in-memory handler, with the entries as plain strings.
    struct Capture {
        struct Entry {
            let level: Logger.Level
            let message: String
            let metadata: [String: String]
        }
        let handler = InMemoryLogHandler()

        var logger: Logger {
            var logger = Logger(label: "test") { [handler] _ in handler }
            logger.logLevel = .trace
            return logger
        }

        var entries: [Entry] {
            handler.entries.map { Entry(level: $0.level, message: "\($0.message)", metadata: $0.metadata.mapValues { "\($0)" }) }
        }

        func messages(_ level: Logger.Level) -> [Entry] { entries.filter { $0.level == level } }
    }

    @Test("opening logs the head, the segments and how the index was loaded; a failed fsync logs an error naming the segment")
    func openAndFailure() async throws {
        let disk = SimulatedDisk(seed: 7)
        let capture = Capture()
        var store = try LogEventStore(directory: "/sim/log", configuration: Self.small, fileSystem: disk.fileSystem(), logger: capture.logger)
        for n in 0..<3 { try await store.append(to: "s", event: EventData(type: "t", json: #"{"n":\#(n)}"#)) }
        let opened = try #require(capture.messages(.info).first { $0.message == "opened" })
        #expect(opened.metadata["store"] == "/sim/log" && opened.metadata["head"] == "0" && opened.metadata["index"] == "rebuilt from the log")
        disk.inject(.init(.sync, .syncFailure, pathContains: "/segments/"))
        await #expect(throws: StrataError.self) { try await store.append(to: "s", event: EventData(type: "t", json: "{}")) }
        let failure = try #require(capture.messages(.error).first)
        #expect(failure.message.contains("stopped") && failure.metadata["error"]?.contains(".seg") == true, "\(failure)")
        try? await store.close()
        disk.clearFaults()

        let reopened = Capture()
        store = try LogEventStore(directory: "/sim/log", configuration: Self.small, fileSystem: disk.fileSystem(), logger: reopened.logger)
        #expect(reopened.messages(.info).first { $0.message == "opened" }?.metadata["head"] == "3")
        try await store.close()
    }

    @Test("a torn tail cut on recovery is logged as a warning with the segment, offset and bytes")
    func tornTail() async throws {
        let disk = SimulatedDisk(seed: 11)
        let store = try LogEventStore(directory: "/sim/torn", configuration: Self.small, fileSystem: disk.fileSystem())
        for n in 0..<5 { try await store.append(to: "s", event: EventData(type: "t", json: #"{"n":\#(n)}"#)) }
        try await store.close()
        // Garbage after the last commit record: what a write interrupted by a crash leaves.
        let segment = try #require(disk.filePaths().first { $0.hasSuffix(".seg") })
        let file = try disk.fileSystem().open(segment, mode: .readWrite)
        let bytes = try #require(disk.contents(of: segment))
        let end = bytes.lastIndex { $0 != 0 }.map { $0 + 1 } ?? 0
        try [UInt8](repeating: 0xAB, count: 40).withUnsafeBytes { try file.write($0, at: end + 16) }
        file.close()
        let capture = Capture()
        let reopened = try LogEventStore(directory: "/sim/torn", configuration: Self.small, fileSystem: disk.fileSystem(), logger: capture.logger)
        #expect(try await reopened.headPosition() == 5)
        try await reopened.close()
        let warning = try #require(capture.messages(.warning).first, "\(capture.entries.map(\.message))")
        #expect(warning.message.contains("torn tail") && warning.metadata["segment"] == segment && warning.metadata["bytes"] != nil)
    }
}

/// Checkpointed consumers report starting, catching up, retries, parked events and stopping.
@Suite("Consumer logging")
struct ConsumerLoggingTests {
    @Test("a consumer logs its start, its catching up, each retry, the event it parks, and its stop")
    func lifecycle() async throws {
        let store = InMemoryEventStore()
        for n in 0..<5 { try await store.append(to: "s", event: EventData(type: n == 2 ? "poison" : "ok", json: #"{"n":\#(n)}"#)) }
        let capture = EngineLoggingTests.Capture()
        let metrics = TestMetrics()
        let options = ConsumerOptions(batchSize: 1, retry: RetryPolicy(maxAttempts: 2, initialDelay: .milliseconds(1)), logger: capture.logger,
                                      metrics: metrics)
        let consumer = CheckpointedConsumer(name: "tally", store: store, checkpoints: MemoryCheckpointStore(), options: options) { events, _ in
            if events.contains(where: { $0.type == "poison" }) { throw StrataError.invalidArgument("cannot handle poison") }
        }
        consumer.start()
        try await consumer.waitUntilCaughtUp(timeout: .seconds(30))
        await consumer.stop()
        let messages = capture.entries.map(\.message)
        #expect(messages.first == "consumer started" && messages.last == "consumer stopped", "\(messages)")
        #expect(capture.messages(.info).contains { $0.message == "consumer caught up" && $0.metadata["position"] == "5" })
        let retries = capture.messages(.warning).filter { $0.message == "consumer retrying an event" }
        #expect(!retries.isEmpty && retries.allSatisfy { $0.metadata["position"] == "3" && $0.metadata["consumer"] == "tally" })
        let parked = try #require(capture.messages(.error).first { $0.message.contains("parked") })
        #expect(parked.metadata["position"] == "3" && parked.metadata["error"]?.contains("poison") == true, "\(parked)")
        let tally = [("consumer", "tally")]
        #expect(try metrics.expectCounter("strata_consumer_events_handled_total", tally).totalValue == 5)
        #expect(try metrics.expectCounter("strata_consumer_parked_total", tally).totalValue == 1)
        #expect(try metrics.expectCounter("strata_consumer_retries_total", tally).totalValue == Int64(retries.count))
        #expect(try metrics.expectGauge("strata_consumer_position", tally).lastValue == 5)
    }
}

/// The engine's metrics (docs/ENGINE.md, "Metrics").
@Suite("Engine metrics")
struct EngineMetricsTests {
    @Test("appends count events, batches and bytes, time each fsync and move the head; a failed fsync counts as a failure")
    func metrics() async throws {
        let metrics = TestMetrics()
        let disk = SimulatedDisk(seed: 3)
        let store = try LogEventStore(directory: "/sim/metrics", configuration: LogConfiguration(segmentSize: 8192),
                                      fileSystem: disk.fileSystem(), metrics: metrics)
        _ = try await store.append([AppendRequest(stream: "s", events: (0..<3).map { EventData(type: "t", json: #"{"n":\#($0)}"#) })], condition: nil)
        for n in 3..<5 { try await store.append(to: "s", event: EventData(type: "t", json: #"{"n":\#(n)}"#)) }
        let store_ = [("store", "/sim/metrics")]
        #expect(try metrics.expectCounter("strata_log_events_appended_total", store_).totalValue == 5)
        #expect(try metrics.expectCounter("strata_log_batches_total", store_).totalValue == 3)
        #expect(try metrics.expectCounter("strata_log_bytes_written_total", store_).totalValue > 0)
        #expect(try metrics.expectTimer("strata_log_fsync_seconds", store_).values.count == 3)
        #expect(try metrics.expectGauge("strata_log_head_position", store_).lastValue == 5)
        #expect(try metrics.expectRecorder("strata_log_batch_events", store_).values == [3, 1, 1])
        disk.inject(.init(.sync, .syncFailure, pathContains: "/segments/"))
        await #expect(throws: StrataError.self) { try await store.append(to: "s", event: EventData(type: "t", json: "{}")) }
        #expect(try metrics.expectCounter("strata_log_failures_total", store_).totalValue == 1)
        try? await store.close()
    }
}
