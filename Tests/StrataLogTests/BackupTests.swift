import Foundation
import Strata
import StrataStorage
import Synchronization
import StrataTestSupport
import Testing
@testable import StrataLog

/// Backups of a log store (docs/FORMAT.md, "Backup"; issue 17): identical restores, backups of
/// a store being written, incremental runs, and refusal of anything incomplete or damaged.
@Suite("Backup and restore")
struct BackupTests {
    static func event(_ n: Int) -> EventData {
        EventData(type: "backup-test", json: #"{"n":\#(n),"pad":"\#(String(repeating: "b", count: 60))"}"#,
                  metadata: #"{"m":\#(n)}"#)
    }

    static func all(_ store: any EventStore) async throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        for try await e in store.readAll() { events.append(e) }
        return events
    }

    /// Every field a consumer or view relies on, for comparing stores.
    static func fingerprint(_ events: [RecordedEvent]) -> [String] {
        events.map { "\($0.position) \($0.stream) \($0.revision) \($0.id) \($0.type) \($0.recordedAt) \(String(decoding: $0.data, as: UTF8.self)) \($0.metadata.map { String(decoding: $0, as: UTF8.self) } ?? "-")" }
    }

    static func temporary(_ name: String) -> String {
        TemporaryDirectory.freshPath("backup-\(name)")
    }

    @Test("a restore is identical: positions, ids, revisions, recorded times, metadata, deletes and tombstones")
    func identicalRestore() async throws {
        let source = Self.temporary("src"), backup = Self.temporary("bak"), restored = Self.temporary("dst")
        defer { for p in [source, backup, restored] { TemporaryDirectory.remove(p) } }
        let store = try LogEventStore(directory: source, configuration: LogConfiguration(segmentSize: 8192))
        for n in 0..<120 { try await store.append(to: "s-\(n % 7)", event: Self.event(n)) }
        try await store.setStreamMetadata("s-1", StreamMetadata(maxCount: 3))
        try await store.deleteStream("s-2", expectedRevision: .any, mode: .soft)
        try await store.deleteStream("s-3", expectedRevision: .any, mode: .tombstone)
        let expected = Self.fingerprint(try await Self.all(store))
        let infos = try await (0..<7).asyncMap { try await store.streamInfo("s-\($0)") }

        let report = try await LogBackup.backup(directory: source, to: backup)
        #expect(report.headPosition == (try await store.headPosition()))
        #expect(report.files > 3, "the small segment size should give several segments")
        try await store.close()

        let verified = try LogBackup.verify(backup: backup)
        #expect(verified.headPosition == report.headPosition)
        let restoredReport = try await LogBackup.restore(backup: backup, to: restored)
        #expect(restoredReport.headPosition == report.headPosition)
        let copy = try LogEventStore(directory: restored)
        #expect(Self.fingerprint(try await Self.all(copy)) == expected)
        for n in 0..<7 {
            let info = try await copy.streamInfo("s-\(n)")
            #expect(info.lastRevision == infos[n].lastRevision && info.isDeleted == infos[n].isDeleted
                    && info.isTombstoned == infos[n].isTombstoned && info.metadata == infos[n].metadata, "s-\(n)")
        }
        // The restored store goes on from the same head.
        let next = try await copy.append(to: "after", event: Self.event(999))
        #expect(next.firstPosition == report.headPosition + 1)
        try await copy.close()
        // A target that holds files is refused.
        await #expect(throws: StrataError.self) { _ = try await LogBackup.restore(backup: backup, to: restored) }
    }

    @Test("a backup taken while appends run is a consistent prefix of the store, and a second run into the same folder copies only what changed")
    func liveAndIncremental() async throws {
        let source = Self.temporary("live"), backup = Self.temporary("inc"), restored = Self.temporary("out")
        defer { for p in [source, backup, restored] { TemporaryDirectory.remove(p) } }
        let store = try LogEventStore(directory: source, configuration: LogConfiguration(segmentSize: 16384))
        for n in 0..<400 { try await store.append(to: "warm-\(n % 5)", event: Self.event(n)) }
        let appending = Task {
            var n = 0
            while !Task.isCancelled && n < 3000 {
                _ = try await store.append([AppendRequest(stream: "live-\(n % 3)", events: [Self.event(n), Self.event(n + 1)])], condition: nil)
                n += 2
            }
        }
        let first = try await LogBackup.backup(directory: source, to: backup)
        appending.cancel()
        _ = try? await appending.value
        let stored = Self.fingerprint(try await Self.all(store))
        #expect(first.headPosition >= 400)
        _ = try LogBackup.verify(backup: backup)
        _ = try await LogBackup.restore(backup: backup, to: restored)
        let copy = try LogEventStore(directory: restored)
        let restoredEvents = Self.fingerprint(try await Self.all(copy))
        try await copy.close()
        #expect(restoredEvents.count == Int(first.headPosition))
        #expect(restoredEvents == Array(stored.prefix(restoredEvents.count)), "the backup is not a prefix of the store")

        for n in 0..<50 { try await store.append(to: "later", event: Self.event(n)) }
        let second = try await LogBackup.backup(directory: source, to: backup)
        #expect(second.headPosition == (try await store.headPosition()))
        #expect(second.bytesReused > 0, "the second run copied every sealed segment again")
        #expect(second.bytesCopied < first.bytesCopied + second.bytesReused)
        _ = try LogBackup.verify(backup: backup)
        try await store.close()
    }

    @Test("a backup stopped by an I/O failure at any of its disk operations is refused by verify and restore, or complete; the next run completes it")
    func interruptedAtEveryOperation() async throws {
        var outcomes = (complete: 0, refused: 0)
        for step in 0..<60 {
            let disk = SimulatedDisk(seed: UInt64(step))
            let fs = disk.fileSystem()
            let store = try LogEventStore(directory: "/sim/src", configuration: LogConfiguration(segmentSize: 4096), fileSystem: fs)
            for n in 0..<40 { try await store.append(to: "s-\(n % 3)", event: Self.event(n)) }
            let expected = Self.fingerprint(try await Self.all(store))
            if step % 2 == 1 { _ = try await LogBackup.backup(directory: "/sim/src", to: "/sim/bak", fileSystem: fs) }
            disk.inject(.init(.any, .ioError, pathContains: "/sim/bak", skip: step / 2))
            let failed: Bool
            do {
                _ = try await LogBackup.backup(directory: "/sim/src", to: "/sim/bak", fileSystem: fs)
                failed = false
            } catch {
                failed = true
            }
            disk.clearFaults()
            // Failed or not, the folder is either a complete backup (the failure hit after
            // BACKUP was in place, e.g. the last directory sync) or refused by verify and restore.
            if failed && (try? LogBackup.verify(backup: "/sim/bak", fileSystem: fs)) == nil {
                outcomes.refused += 1
                await #expect(throws: StrataError.self, "step \(step)") {
                    _ = try await LogBackup.restore(backup: "/sim/bak", to: "/sim/dst", fileSystem: fs)
                }
                #expect(!fs.exists("/sim/dst/manifest.json"), "step \(step): a refused restore wrote files")
                _ = try await LogBackup.backup(directory: "/sim/src", to: "/sim/bak", fileSystem: fs)
            } else {
                outcomes.complete += 1
            }
            _ = try await LogBackup.restore(backup: "/sim/bak", to: "/sim/dst", fileSystem: fs)
            let copy = try LogEventStore(directory: "/sim/dst", fileSystem: fs)
            #expect(Self.fingerprint(try await Self.all(copy)) == expected, "step \(step)")
            try await copy.close()
            try await store.close()
        }
        #expect(outcomes.refused > 10 && outcomes.complete > 0, "\(outcomes)")
    }

    @Test("a power loss at any disk operation of a backup leaves a complete backup or one that verify and restore refuse")
    func powerLossAtEveryOperation() async throws {
        // A dry run counts the disk operations of a backup; power losses are spread over them
        // (and a little past the end, where the backup has completed).
        let dry = SimulatedDisk(seed: 999)
        let dryStore = try LogEventStore(directory: "/sim/src", configuration: LogConfiguration(segmentSize: 4096), fileSystem: dry.fileSystem())
        for n in 0..<40 { try await dryStore.append(to: "s-\(n % 3)", event: Self.event(n)) }
        try await dryStore.close()
        let before = dry.operationCount
        _ = try await LogBackup.backup(directory: "/sim/src", to: "/sim/bak", fileSystem: dry.fileSystem())
        let total = dry.operationCount - before
        #expect(total > 30, "a backup performs \(total) disk operations")
        var outcomes = (complete: 0, refused: 0)
        for step in stride(from: 1, through: total + 10, by: Swift.max(1, total / 60)) {
            let disk = SimulatedDisk(seed: UInt64(1000 + step))
            var fs = disk.fileSystem()
            let store = try LogEventStore(directory: "/sim/src", configuration: LogConfiguration(segmentSize: 4096), fileSystem: fs)
            for n in 0..<40 { try await store.append(to: "s-\(n % 3)", event: Self.event(n)) }
            let expected = Self.fingerprint(try await Self.all(store))
            try await store.close()
            if step % 3 == 0 { _ = try await LogBackup.backup(directory: "/sim/src", to: "/sim/bak", fileSystem: fs) }
            let mode = SimulatedDisk.LossMode.allCases[step % SimulatedDisk.LossMode.allCases.count]
            disk.powerLoss(afterOperations: step, mode: mode)
            _ = try? await LogBackup.backup(directory: "/sim/src", to: "/sim/bak", fileSystem: fs)
            if disk.powerLossPending {
                disk.clearFaults()
                disk.powerLoss(mode)
            }
            fs = disk.fileSystem()
            if (try? LogBackup.verify(backup: "/sim/bak", fileSystem: fs)) != nil {
                outcomes.complete += 1
                _ = try await LogBackup.restore(backup: "/sim/bak", to: "/sim/dst", fileSystem: fs)
                let copy = try LogEventStore(directory: "/sim/dst", fileSystem: fs)
                #expect(Self.fingerprint(try await Self.all(copy)) == expected, "power loss (\(mode)) at operation \(step)")
                try await copy.close()
            } else {
                outcomes.refused += 1
                await #expect(throws: StrataError.self, "power loss (\(mode)) at operation \(step)") {
                    _ = try await LogBackup.restore(backup: "/sim/bak", to: "/sim/dst", fileSystem: fs)
                }
            }
        }
        #expect(outcomes.refused > 10 && outcomes.complete > 5, "\(outcomes)")
    }

    @Test("a damaged or missing file of a backup is named by verify, and restore writes nothing")
    func damagedBackup() async throws {
        let source = Self.temporary("dmg"), backup = Self.temporary("dmgbak"), restored = Self.temporary("dmgout")
        defer { for p in [source, backup, restored] { TemporaryDirectory.remove(p) } }
        let store = try LogEventStore(directory: source, configuration: LogConfiguration(segmentSize: 8192))
        for n in 0..<100 { try await store.append(to: "s", event: Self.event(n)) }
        try await store.close()
        _ = try await LogBackup.backup(directory: source, to: backup)
        let segments = try FileManager.default.contentsOfDirectory(atPath: backup + "/segments").filter { $0.hasSuffix(".seg") }.sorted()
        let victim = backup + "/segments/" + segments[0]
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: victim)))
        bytes[200] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: victim))
        do {
            _ = try LogBackup.verify(backup: backup)
            Issue.record("a damaged backup verified")
        } catch StrataError.corruption(let path, _, let reason) {
            #expect(path == victim && reason.contains("CRC32C"), "\(path): \(reason)")
        }
        await #expect(throws: StrataError.self) { _ = try await LogBackup.restore(backup: backup, to: restored) }
        #expect(!FileManager.default.fileExists(atPath: restored))

        try FileManager.default.removeItem(atPath: backup + "/BACKUP")
        do {
            _ = try LogBackup.verify(backup: backup)
            Issue.record("a backup without BACKUP verified")
        } catch StrataError.invalidArgument(let reason) {
            #expect(reason.contains("not a complete backup"), "\(reason)")
        }
    }
}

extension Range where Bound == Int {
    func asyncMap<T>(_ body: (Int) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for i in self { out.append(try await body(i)) }
        return out
    }
}
