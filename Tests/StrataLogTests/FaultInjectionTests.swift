import Foundation
import Strata
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataLog

/// Injected I/O faults on a ``SimulatedDisk`` (issue 14): the fsync-failure rule, EIO on read,
/// and ENOSPC or a power loss at every single disk operation of a workload.
@Suite("I/O faults on a simulated disk")
struct FaultInjectionTests {
    static let directory = "/sim/faults"

    static func event(_ n: Int, padding: Int = 40) -> EventData {
        EventData(type: "fault-test", json: #"{"n":\#(n),"pad":"\#(String(repeating: "p", count: padding))"}"#)
    }

    static func open(_ disk: SimulatedDisk, segmentSize: Int = 4096) throws -> LogEventStore {
        try LogEventStore(directory: directory, configuration: LogConfiguration(durability: .fsync, segmentSize: segmentSize),
                          fileSystem: disk.fileSystem())
    }

    static func all(_ store: LogEventStore) async throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        for try await e in store.readAll() { events.append(e) }
        return events
    }

    @Test("after a failed fsync the store refuses writes until reopened; the failed append is never visible, and nothing acknowledged is lost")
    func failedFsyncRule() async throws {
        let disk = SimulatedDisk(seed: 1)
        var store = try Self.open(disk)
        for n in 1...3 { try await store.append(to: "s", event: Self.event(n)) }
        disk.inject(.init(.sync, .syncFailure, pathContains: "/segments/"))
        do {
            try await store.append(to: "s", event: Self.event(4))
            Issue.record("the append whose fsync failed succeeded")
        } catch StrataError.io(let path, let operation, let reason) {
            #expect(path.hasSuffix(".seg"), "the error names the segment: \(path)")
            #expect(operation == "fdatasync")
            #expect(reason.contains("errno 5"), "\(reason)")
        }
        // Every later call is refused, naming the failure, until the store is reopened.
        await #expect(throws: StrataError.self) { try await store.append(to: "s", event: Self.event(5)) }
        do {
            try await store.setStreamMetadata("s", StreamMetadata(maxCount: 2))
            Issue.record("metadata was written after the failure")
        } catch StrataError.storeClosed(let reason) {
            #expect(reason.contains("I/O failure") && reason.contains("fdatasync"), "\(reason)")
        }
        await #expect(throws: StrataError.self) { _ = try await Self.all(store) }
        try? await store.close()

        // Reopened in the same boot (the page cache still holds the failed write), the store
        // shows only what was acknowledged, and appends after it.
        store = try Self.open(disk)
        #expect(try await Self.all(store).map(\.position) == [1, 2, 3])
        try await store.append(to: "s", event: Self.event(6))
        try await store.close()
        // A power loss keeping nothing unsynced: all four acknowledged events are there, no hole.
        disk.powerLoss(.keepNone)
        store = try Self.open(disk)
        let events = try await Self.all(store)
        #expect(events.map(\.position) == [1, 2, 3, 4])
        #expect(events.map(\.revision) == [1, 2, 3, 4])
        #expect(try LogEventStore.verify(directory: Self.directory, fileSystem: disk.fileSystem()).isOK)
        try await store.close()
    }

    @Test("EIO reading a segment at open is a typed error naming the file; a damaged index checkpoint read only costs a rebuild")
    func readErrors() async throws {
        let disk = SimulatedDisk(seed: 2)
        var store = try Self.open(disk)
        for n in 1...40 { try await store.append(to: "s-\(n % 3)", event: Self.event(n)) }
        try await store.close()

        for operation in [SimulatedDisk.Fault.Operation.read, .map] {
            disk.inject(.init(operation, .ioError, pathContains: "/segments/", times: .max))
            do {
                _ = try Self.open(disk)
                Issue.record("the store opened although reading a segment failed (\(operation))")
            } catch StrataError.io(let path, _, let reason) {
                #expect(path.contains("/segments/") && path.hasSuffix(".seg"), "\(path)")
                #expect(reason.contains("Input/output error"), "\(reason)")
            }
            disk.clearFaults()
        }

        disk.inject(.init(.read, .ioError, pathContains: "index.ckpt"))
        store = try Self.open(disk)
        let events = try await Self.all(store)
        #expect(events.map(\.position) == Array(1...40))
        #expect(disk.firedFaults.last?.pathContains == "index.ckpt")
        try await store.close()
    }

    /// A small workload: open, appends that roll 4 KiB segments, metadata, a delete, close.
    /// Returns the positions acknowledged.
    static func workload(_ disk: SimulatedDisk) async -> (acknowledged: [UInt64], error: (any Error)?) {
        var acknowledged: [UInt64] = []
        do {
            let store = try Self.open(disk)
            do {
                for n in 1...16 {
                    let events = (0..<(n % 4 + 1)).map { Self.event(n * 10 + $0, padding: 120) }
                    let result = try await store.append(to: "w-\(n % 3)", events: events)
                    acknowledged += Array(result.firstPosition...result.lastPosition)
                    if n == 8 { try await store.setStreamMetadata("w-1", StreamMetadata(maxCount: 5)) }
                    if n == 14 { try await store.deleteStream("w-2", expectedRevision: .any, mode: .soft) }
                }
                try await store.close()
            } catch {
                try? await store.close()
                return (acknowledged, error)
            }
        } catch {
            return (acknowledged, error)
        }
        return (acknowledged, nil)
    }

    @Test("ENOSPC at every disk operation of a workload: a typed error, nothing acknowledged lost, appends work after reopening")
    func noSpaceEverywhere() async throws {
        let dry = SimulatedDisk(seed: 3)
        let clean = await Self.workload(dry)
        #expect(clean.error == nil)
        let total = dry.operationCount
        #expect(total > 60, "the workload performs \(total) disk operations")
        var failures = 0
        let step = Int(TestEnvironment.integer("STRATA_FAULT_EVERY", 1))
        for k in stride(from: 0, to: total, by: step) {
            let disk = SimulatedDisk(seed: 3)
            disk.inject(.init(.any, .noSpace, skip: k))
            let run = await Self.workload(disk)
            if let error = run.error {
                failures += 1
                guard case StrataError.io(_, _, let reason)? = error as? StrataError, reason.contains("errno 28") || reason.contains("errno 5") else {
                    Issue.record("operation \(k): expected an io error for ENOSPC, got \(error)")
                    continue
                }
            }
            disk.clearFaults()
            try await Self.expectRecovered(disk, acknowledged: run.acknowledged, label: "ENOSPC at operation \(k) of \(total)")
        }
        #expect(failures > 0)
    }

    @Test("a power loss at every disk operation of a workload, in each loss mode: every acknowledged event survives")
    func powerLossEverywhere() async throws {
        let dry = SimulatedDisk(seed: 4)
        _ = await Self.workload(dry)
        let total = dry.operationCount
        // Every operation in each mode on demand (STRATA_FAULT_EVERY=1); CI takes every fourth,
        // a different fourth for each mode, so that together the modes cover every operation.
        let step = Int(TestEnvironment.integer("STRATA_FAULT_EVERY", 4))
        for (m, mode) in SimulatedDisk.LossMode.allCases.enumerated() {
            for k in stride(from: 1 + m % step, through: total, by: step) {
                let disk = SimulatedDisk(seed: UInt64(k))
                disk.powerLoss(afterOperations: k, mode: mode)
                let run = await Self.workload(disk)
                if disk.powerLossPending {
                    disk.clearFaults()
                    disk.powerLoss(mode)
                }
                try await Self.expectRecovered(disk, acknowledged: run.acknowledged, label: "power loss (\(mode)) at operation \(k) of \(total)")
            }
        }
    }

    /// Reopens and checks: verify is clean, positions are contiguous from 1, every acknowledged
    /// position is there, and an append works.
    static func expectRecovered(_ disk: SimulatedDisk, acknowledged: [UInt64], label: String) async throws {
        if !disk.fileSystem().exists(directory + "/" + "manifest.json") {
            #expect(acknowledged.isEmpty, "\(label): the store is gone but \(acknowledged.count) events were acknowledged")
            return
        }
        let report = try LogEventStore.verify(directory: directory, fileSystem: disk.fileSystem())
        #expect(report.isOK, "\(label): \(report.problems)")
        let store: LogEventStore
        do { store = try Self.open(disk) } catch {
            Issue.record("\(label): reopening failed: \(error)")
            return
        }
        let positions = try await all(store).map(\.position)
        #expect(positions == (positions.isEmpty ? [] : Array(1...UInt64(positions.count))), "\(label): gaps \(positions)")
        let missing = Set(acknowledged).subtracting(positions)
        #expect(missing.isEmpty, "\(label): acknowledged positions lost: \(missing.sorted())")
        let result = try await store.append(to: "after", event: event(0))
        #expect(result.firstPosition == UInt64(positions.count) + 1, "\(label)")
        try await store.close()
    }
}
