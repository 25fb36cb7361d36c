import Foundation
import Strata
import StrataTestSupport
import Testing
@testable import StrataLog

/// Crash recovery (issue 2, "Done when" 3 and the torn-tail half of 4): a child process appending
/// with `.fsync` is killed with SIGKILL at random moments, and a torn tail written by hand is cut
/// on open without losing anything before it.
@Suite("crash recovery", .serialized)
struct CrashRecoveryTests {
    /// Small segments, so that the crash rounds also kill the writer around segment rolls.
    static let segmentSize = 64 * 1024

    @Test("a child appending with fsync is killed at random moments; every acknowledged event survives")
    func killedWriterLosesNothingAcknowledged() async throws {
        let rounds = Int(TestEnvironment.integer("STRATA_CRASH_ROUNDS", 20))
        let seed = TestEnvironment.integer("STRATA_CRASH_SEED", UInt64.random(in: 1...UInt64(UInt32.max)))
        print("crash test: \(rounds) rounds, seed \(seed) (replay with STRATA_CRASH_SEED=\(seed))")
        var rng = FaultTest.Generator(seed: seed)
        let dir = TemporaryDirectory.freshPath("crash")
        defer { TemporaryDirectory.remove(dir) }
        let configuration = LogConfiguration(durability: .fsync, segmentSize: Self.segmentSize)
        var acknowledged: [AckLine] = []

        for round in 1...rounds {
            let target = Int.random(in: 1...50, using: &rng)
            let child = try TestChild.start(store: "file:\(dir)?durability=fsync&segmentSize=\(Self.segmentSize)", "append",
                                            ["--prefix", "crash", "--max-batch", "8", "--seed", String(rng.next() >> 1)])
            do {
                try await child.waitForLines("\(target) acks") { AckLine.parse($0).count >= target }
            } catch {
                try await child.kill()
                throw error
            }
            // A random moment: up to 3 ms after the target ack, while the child keeps appending.
            let jitter = Int.random(in: 0...3_000, using: &rng)
            if jitter > 0 { try await Task.sleep(for: .microseconds(jitter)) }
            let stillRunning = child.status == nil
            try await child.kill()
            #expect(stillRunning, "round \(round): the child had stopped before it was killed (stderr: \(child.stderr))")
            let acks = AckLine.parse(child.lines)
            #expect(acks.count >= target, "seed \(seed) round \(round)")
            acknowledged += acks

            // The crashed directory, before anyone opens it: only a torn tail may be there, which
            // verify does not count as a problem.
            let before = try LogEventStore.verify(directory: dir)
            #expect(before.isOK, "seed \(seed) round \(round), before reopening: \(before.problems)")

            let store = try LogEventStore(directory: dir, configuration: configuration)
            let events = try await FaultTest.readAll(store)
            let head = try await store.headPosition()
            #expect(UInt64(events.count) == head, "seed \(seed) round \(round)")
            FaultTest.expectContiguous(events)
            let byPosition = Dictionary(uniqueKeysWithValues: events.map { ($0.position, $0) })
            for ack in acknowledged { ack.expectPresent(in: byPosition) }
            #expect(head >= (acknowledged.map(\.lastPosition).max() ?? 0), "seed \(seed) round \(round)")
            // Appends continue at the next position, and the stream revisions continue too.
            let result = try await store.append(to: "crash-check", events: FaultTest.events(1, from: round))
            #expect(result.firstPosition == head + 1, "seed \(seed) round \(round)")
            #expect(result.firstRevision == UInt64(round), "seed \(seed) round \(round)")
            try await store.close()
            let after = try LogEventStore.verify(directory: dir)
            #expect(after.isOK, "seed \(seed) round \(round), after reopening: \(after.problems)")
            #expect(after.events == head + 1)
            if !(before.isOK && after.isOK) { break }
        }
        let segments = FaultTest.plainSegmentPaths(dir).count
        print("crash test: \(acknowledged.count) acknowledged appends over \(rounds) rounds, \(segments) segments")
    }

    // MARK: - Torn tails written by hand

    enum Tail: String, CaseIterable, CustomTestStringConvertible {
        /// The second half of the last record reads as zeros (the part of the write that did not reach the disk).
        case lastRecordHalfZeroed
        /// The last record is cut mid-record and the bytes after it are zeros, in a record of a multi-event append.
        case multiEventAppendCut
        /// A frame whose length covers random bytes follows the last commit record.
        case tornRecordOfGarbage
        /// Plain random bytes follow the last commit record.
        case randomBytes
        /// Well-formed records of an append whose commit record never reached the disk.
        case uncommittedTransaction
        var testDescription: String { rawValue }
    }

    @Test("a torn tail is cut on open and nothing before it is lost", arguments: Tail.allCases, [true, false])
    func tornTailIsCut(_ tail: Tail, keepCheckpoint: Bool) async throws {
        let dir = TemporaryDirectory.freshPath("torn")
        defer { TemporaryDirectory.remove(dir) }
        let configuration = LogConfiguration(durability: .fsync, segmentSize: Self.segmentSize)
        let store = try LogEventStore(directory: dir, configuration: configuration)
        // Enough to fill one segment and start a second, so the tail is in a later segment.
        for i in 0..<40 {
            try await store.append(to: "torn-\(i % 3)", events: FaultTest.events(20, from: i * 20))
        }
        let lastAppend = try await store.append(to: "torn-last", events: FaultTest.events(3, from: 9_000))
        let written = try await FaultTest.readAll(store)
        try await store.close()
        if !keepCheckpoint { try FileManager.default.removeItem(atPath: dir + "/index.ckpt") }

        let paths = FaultTest.plainSegmentPaths(dir)
        try #require(paths.count >= 2, "expected a sealed segment and a last one")
        let last = try FaultTest.readSegment(paths.last!)
        try #require(last.records.count >= 3)
        var survivors = written
        switch tail {
        case .lastRecordHalfZeroed:
            let record = last.records.last!
            let half = record.offset + (8 + record.bodyLength) / 2
            try FaultTest.overwrite(last.path, at: half, with: [UInt8](repeating: 0, count: record.end - half))
            survivors.removeLast(3) // the whole three-event append goes: its commit record is damaged
        case .multiEventAppendCut:
            // Zero from the middle of the second record of the last append to the end: the
            // append loses its commit record and one of its records is cut short.
            let record = last.records[last.records.count - 2]
            let cut = record.offset + 30
            try FaultTest.overwrite(last.path, at: cut, with: [UInt8](repeating: 0, count: last.recordsEnd - cut))
            survivors.removeLast(3)
        case .tornRecordOfGarbage:
            var rng = FaultTest.Generator(seed: 7)
            var garbage = (0..<300).map { _ in UInt8.random(in: 1...255, using: &rng) }
            let length = UInt32(garbage.count - 8)
            for k in 0..<4 { garbage[k] = UInt8(truncatingIfNeeded: length >> (8 * UInt32(k))) }
            try FaultTest.overwrite(last.path, at: last.recordsEnd, with: garbage)
        case .randomBytes:
            var rng = FaultTest.Generator(seed: 11)
            try FaultTest.overwrite(last.path, at: last.recordsEnd, with: (0..<100).map { _ in UInt8.random(in: 1...255, using: &rng) })
        case .uncommittedTransaction:
            let head = lastAppend.lastPosition
            var bytes = try FaultTest.encodeRecord(position: head + 1, revision: 4, stream: "torn-last", commit: false)
            bytes += try FaultTest.encodeRecord(position: head + 2, revision: 5, stream: "torn-last", commit: false)
            try FaultTest.overwrite(last.path, at: last.recordsEnd, with: bytes)
        }
        let damagedLength = try FaultTest.readSegment(last.path).bytes.count

        let reopened = try LogEventStore(directory: dir, configuration: configuration)
        let events = try await FaultTest.readAll(reopened)
        #expect(events == survivors, "the events before the torn tail must all be there, unchanged, and nothing after it")
        #expect(try await reopened.headPosition() == survivors.last!.position)
        // The tail is zeroed in place: the file keeps its size, and nothing but zeros follows the records.
        let cut = try FaultTest.readSegment(last.path)
        #expect(cut.bytes.count == damagedLength)
        #expect(cut.bytes[cut.recordsEnd...].allSatisfy { $0 == 0 }, "bytes after the last committed record were not zeroed")
        // Appends continue right after the survivors, in the stream the tail belonged to.
        let next = try await reopened.append(to: "torn-last", events: FaultTest.events(1, from: 10_000))
        #expect(next.firstPosition == survivors.last!.position + 1)
        let expectedRevision: UInt64 = survivors.last!.stream == "torn-last" ? survivors.last!.revision + 1 : 1
        #expect(next.firstRevision == expectedRevision)
        try await reopened.close()
        let report = try LogEventStore.verify(directory: dir)
        #expect(report.isOK, "\(report.problems)")

        let third = try LogEventStore(directory: dir, configuration: configuration)
        #expect(try await FaultTest.readAll(third).count == survivors.count + 1)
        try await third.close()
    }

    @Test("leftovers of interrupted file operations (docs/FORMAT.md, crash safety) are cleaned up on open and nothing is lost")
    func interruptedFileOperationsAreCleanedUp() async throws {
        let dir = TemporaryDirectory.freshPath("leftovers")
        defer { TemporaryDirectory.remove(dir) }
        let configuration = LogConfiguration(durability: .none, segmentSize: Self.segmentSize)
        let store = try LogEventStore(directory: dir, configuration: configuration)
        for i in 0..<100 {
            try await store.append(to: "l-\(i % 4)", events: FaultTest.events(20, from: i * 20))
        }
        let written = try await FaultTest.readAll(store)
        try await store.close()
        let paths = FaultTest.plainSegmentPaths(dir)
        try #require(paths.count >= 3)
        let next = String(format: "%020llu", UInt64(written.count) + 1)
        // A segment creation cut short, a compression cut short, and a compression that renamed
        // its .seg.gz but did not remove the .seg yet (gzip -k: same content, both files).
        try Data(repeating: 0, count: 4_096).write(to: URL(fileURLWithPath: dir + "/segments/\(next).seg.tmp"))
        // (An unfinished compression may belong to a live process that compresses without the
        // lock, so only an old one is a leftover: date it 20 minutes back.)
        try Data([0x1F, 0x8B, 8, 0, 1, 2, 3]).write(to: URL(fileURLWithPath: paths[0] + ".gz.tmp"))
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -1_200)], ofItemAtPath: paths[0] + ".gz.tmp")
        #expect(try await ChildProcess.run("/usr/bin/gzip", ["-k", paths[1]]).status == 0)

        let reopened = try LogEventStore(directory: dir, configuration: configuration)
        #expect(try await FaultTest.readAll(reopened) == written)
        let names = FaultTest.segmentNames(dir)
        #expect(!names.contains { $0.hasSuffix(".tmp") }, "unfinished files were left: \(names)")
        let duplicate = (paths[1] as NSString).lastPathComponent
        #expect(names.contains(duplicate + ".gz") != names.contains(duplicate), "both \(duplicate) and its .gz remain")
        #expect(try await reopened.append(to: "l-0", events: FaultTest.events(1)).firstPosition == UInt64(written.count) + 1)
        try await reopened.close()
        #expect(try LogEventStore.verify(directory: dir).isOK)
    }
}
