import CoreMetrics
import Foundation
import Strata
import StrataStorage
#if canImport(Glibc)
import Glibc
#endif

/// The planner's view of the index.
struct IndexSource: AppendStateSource {
    let index: LogIndex
    func writeState(of stream: String) throws -> StreamWriteState { index.writeState(of: stream) }
    func location(ofEvent id: UUID) throws -> EventLocation? { try index.location(ofEvent: id) }
    func containsAny(of ids: [UUID]) throws -> Bool {
        index.ids.prefetch(ids)
        index.prefetchSealed(ids)
        for id in ids where try index.location(ofEvent: id) != nil { return true }
        return false
    }
    func firstEvent(matching query: EventQuery, after position: UInt64) throws -> UInt64? {
        try index.firstEvent(matching: query, after: position)
    }
}

/// A record of the batch being written, kept to update the index once the bytes are stored.
enum PendingRecord {
    case event(stream: String, revision: UInt64, position: UInt64, id: UUID, offset: Int)
    case control(kind: RecordKind, stream: String, revision: UInt64, payload: Data, custom: Data?)
}

/// A request of the writer's queue, as taken in a batch.
typealias QueuedWrite = GroupCommitQueue<WriteRequest, [AppendResult]>.Pending

extension LogEngine {
    /// Starts the writer thread.
    func startWriter() {
        let thread = Thread { [self] in self.writerLoop() }
        thread.name = "strata-log-writer"
        thread.start()
    }

    private func writerLoop() {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        var dirtySince: Date?
        var closing: QueuedWrite?
        var stopping = false
        while !stopping {
            var deadline: Date?
            if case .interval(let ms) = configuration.durability, let since = dirtySince {
                deadline = since.addingTimeInterval(Double(ms) / 1000)
            }
            var batch: [QueuedWrite]
            switch queue.takeBatch(deadline: deadline) {
            case .timedOut:
                syncDirty(&dirtySince)
                continue
            case .finished:
                batch = []
                stopping = true
            case .batch(let taken):
                batch = taken
            }
            // The close is the queue's final request: the last of its batch.
            if case .close = batch.last?.request {
                closing = batch.removeLast()
                stopping = true
            }
            if !batch.isEmpty { process(batch, buffer: &buffer, dirtySince: &dirtySince) }
            if case .interval(let ms) = configuration.durability, let since = dirtySince,
               Date().timeIntervalSince(since) * 1000 >= Double(ms) {
                syncDirty(&dirtySince)
            }
            if failure == nil, !configuration.readOnly, index.head >= checkpointHead + Swift.max(1_000_000, checkpointHead) {
                try? writeCheckpoint()
            }
        }
        // Closing: install a finished index build, sync, checkpoint, release.
        // Sealed segments waiting for their index file get it now, so that the checkpoint
        // describes them as indexed (a failed build stops this: the next open retries).
        if failure == nil && !configuration.readOnly {
            repeat {
                indexBuilds.waitUntilIdle()
                advanceIndexing()
            } while indexBuilds.isBusy
        }
        var result: Result<Void, any Error> = .success(())
        if failure == nil {
            do {
                if !configuration.readOnly, let file = index.lastSegment?.file, dirtySince != nil || configuration.durability != .fsync {
                    try StrataErrorBridge.run { try file.sync() }
                }
                // Only a process that wrote (or rebuilt a large index) saves the checkpoint, so
                // that readers such as `strata read` close quickly.
                if wroteSinceOpen && (index.head != checkpointHead || !IndexCheckpoint.exists(in: directory, fileSystem: fileSystem)) { try writeCheckpoint() }
            } catch {
                result = .failure(error)
            }
        }
        compressionGate.waitUntilIdle()
        indexBuilds.waitUntilIdle()
        withIndexLock { closed = true }
        notifier.close()
        closing?.complete(with: result.map { [] })
    }

    private func syncDirty(_ dirtySince: inout Date?) {
        guard dirtySince != nil, let segment = index.lastSegment, let file = segment.file else { return }
        do {
            let started = ContinuousClock.now
            try StrataErrorBridge.run { try file.sync() }
            metrics.recordFsync(since: started)
            dirtySince = nil
            unsyncedFrom = nil
        } catch {
            withIndexLock { failure = (error as? StrataError) ?? .io(path: file.path, operation: "fdatasync", reason: "\(error)") }
            metrics.failures.increment()
            logger.error("the store stopped after a failed fdatasync: it refuses writes until reopened", metadata: ["segment": .string(file.path), "error": .string("\(error)")])
            discardUnsynced(segment, through: segment.end)
        }
    }

    /// After a failed write or sync, what was written since the last successful sync cannot be
    /// trusted: the kernel may have dropped those dirty pages while still showing them to
    /// readers, so a later open in this boot would adopt records that a power loss then
    /// removes, leaving a hole before newer, synced records. Zeroes that range (best effort) and
    /// syncs, so that the next open sees it as never written (docs/RELIABILITY.md, "A failed fsync").
    func discardUnsynced(_ segment: SegmentEntry, through end: Int) {
        guard let file = segment.file, let start = unsyncedFrom, end > start else { return }
        unsyncedFrom = nil
        let zeros = [UInt8](repeating: 0, count: Swift.min(end - start, 1 << 16))
        var offset = start
        zeros.withUnsafeBytes { chunk in
            while offset < end {
                let count = Swift.min(chunk.count, end - offset)
                do { try file.write(UnsafeRawBufferPointer(rebasing: chunk[0..<count]), at: offset) } catch { return }
                offset += count
            }
        }
        try? file.sync()
    }

    /// Plans, writes and applies one group-commit batch.
    private func process(_ batch: [QueuedWrite], buffer: inout [UInt8], dirtySince: inout Date?) {
        if let failure {
            let error = StrataError.storeClosed(reason: "stopped after an I/O failure: \(failure)")
            batch.forEach { $0.fail(error) }
            return
        }
        do {
            try StrataErrorBridge.run { try directoryLock?.lock() }
        } catch {
            batch.forEach { $0.fail(error) }
            return
        }
        defer { directoryLock?.unlock() }
        let willWrite = batch.contains { if case .refresh = $0.request { return false } else { return true } }
        do {
            try catchUp(willWrite: willWrite)
        } catch {
            withIndexLock { failure = (error as? StrataError) ?? .io(path: directory, operation: "catch up", reason: "\(error)") }
            batch.forEach { $0.fail(error) }
            return
        }

        var planner = AppendPlanner(source: IndexSource(index: index), head: index.head)
        let now = Swift.max(currentMicroseconds(), index.lastRecordedAt)
        buffer.removeAll(keepingCapacity: true)
        var pending: [PendingRecord] = []
        var outcomes: [Result<[AppendResult], any Error>] = []
        outcomes.reserveCapacity(batch.count)
        for write in batch {
            do {
                switch write.request {
                case .change(.append(let requests, let condition)):
                    switch try planner.plan(requests, condition: condition) {
                    case .idempotent(let results):
                        outcomes.append(.success(results))
                    case .write(let results, let range):
                        for planned in planner.events[range] {
                            let offset = buffer.count
                            try encode(planned, at: now, into: &buffer)
                            pending.append(.event(stream: planned.stream, revision: planned.revision, position: planned.position,
                                                  id: planned.event.id, offset: offset))
                        }
                        outcomes.append(.success(results))
                    }
                case .change(let change):
                    let record = try plan(change, planner: &planner)
                    try encodeControl(record, at: now, into: &buffer)
                    pending.append(record)
                    outcomes.append(.success([]))
                case .refresh, .seal, .publishScavenge:
                    outcomes.append(.success([]))
                case .close:
                    preconditionFailure("close is handled by the writer loop")
                }
            } catch {
                outcomes.append(.failure(error))
            }
        }

        var head = index.head
        let before = head
        if !buffer.isEmpty {
            var written: (segment: SegmentEntry, end: Int)?
            do {
                let segment = try segment(forWriting: buffer.count, firstPosition: index.head + 1, now: now)
                let base = segment.end
                if unsyncedFrom == nil { unsyncedFrom = base }
                written = (segment, base + buffer.count)
                try buffer.withUnsafeBytes { bytes in
                    try StrataErrorBridge.run { try segment.file!.write(bytes, at: base) }
                }
                switch configuration.durability {
                case .fsync:
                    let started = ContinuousClock.now
                    try StrataErrorBridge.run { try segment.file!.sync() }
                    metrics.recordFsync(since: started)
                    unsyncedFrom = nil
                case .interval, .none: if dirtySince == nil { dirtySince = Date() }
                }
                try withIndexLock {
                    for record in pending {
                        switch record {
                        case .event(let stream, let revision, let position, let id, let offset):
                            index.addEvent(stream: stream, revision: revision, position: position, id: id, offset: base + offset,
                                           recordedAt: now, segment: segment)
                        case .control(let kind, let stream, let revision, let payload, let custom):
                            try index.applyControl(kind: kind, stream: stream, revision: revision, payload: payload, custom: custom)
                        }
                    }
                    segment.end = base + buffer.count
                    segment.lastRecordCRC = nil
                    wroteSinceOpen = true
                    publishHint()
                    head = index.head
                }
            } catch {
                let stored = (error as? StrataError) ?? .io(path: directory, operation: "write", reason: "\(error)")
                withIndexLock { failure = stored }
                metrics.failures.increment()
                logger.error("the store stopped after a failed write or sync: it refuses writes until reopened", metadata: ["error": .string("\(stored)")])
                if let written {
                    discardUnsynced(written.segment, through: written.end)
                } else if let last = index.lastSegment {
                    discardUnsynced(last, through: last.end)
                }
                // The batch's fate is unknown: every request of it gets the I/O error, except those
                // that had failed on their own.
                for (write, outcome) in zip(batch, outcomes) { write.complete(with: outcome.flatMap { _ in .failure(stored) }) }
                return
            }
        }
        // Maintenance runs after the batch's writes: a seal or a scavenge's publication.
        for (i, write) in batch.enumerated() {
            switch write.request {
            case .seal:
                outcomes[i] = Result { try sealNewestSegment(now: now); return [] }
            case .publishScavenge(let publication):
                outcomes[i] = Result { try publishScavenge(publication, now: now, buffer: &buffer); return [] }
            default:
                continue
            }
        }
        if head != before {
            let events = pending.reduce(0) { count, record in if case .event = record { count + 1 } else { count } }
            metrics.batches.increment()
            metrics.eventsAppended.increment(by: events)
            metrics.batchEvents.record(events)
            metrics.bytesWritten.increment(by: buffer.count)
            metrics.head.record(head)
        }
        for (write, outcome) in zip(batch, outcomes) { write.complete(with: outcome) }
        notifier.advance(to: head)
        advanceIndexing()
        if retentionDue && !configuration.readOnly {
            retentionDue = false
            applyRetention(now: now, buffer: &buffer)
        }
    }

    /// Checks a delete or metadata change against planned state and returns its record.
    private func plan(_ change: StoreChange, planner: inout AppendPlanner<IndexSource>) throws -> PendingRecord {
        switch change {
        case .append:
            preconditionFailure("appends are planned by the AppendPlanner")
        case .setMetadata(let stream, let metadata):
            let state = try planner.writeState(of: stream)
            try state.checkMetadataChange(of: stream)
            return .control(kind: .streamMetadata, stream: stream, revision: state.lastRevision,
                            payload: StreamMetadataCoding.encode(metadata), custom: metadata.custom)
        case .delete(let stream, let expected, let mode):
            let state = try planner.writeState(of: stream)
            planner.setPlannedState(try state.afterDelete(stream, expected: expected, mode: mode), of: stream)
            return .control(kind: mode == .soft ? .streamSoftDelete : .streamTombstone, stream: stream, revision: state.lastRevision,
                            payload: Data(), custom: nil)
        }
    }

    private func encode(_ planned: PlannedEvent, at now: Int64, into buffer: inout [UInt8]) throws {
        var stream = planned.stream
        var type = planned.event.type
        var contentType = planned.event.contentType.isJSON ? "" : planned.event.contentType.rawValue
        let event = planned.event
        try stream.withUTF8 { s in
            try type.withUTF8 { t in
                try contentType.withUTF8 { c in
                    try event.data.withUnsafeBytes { d in
                        try (event.metadata ?? Data()).withUnsafeBytes { m in
                            let fields = RecordFields(kind: .event, flags: planned.endsAppend ? .commit : [], position: planned.position,
                                                      revision: planned.revision, recordedAtMicros: now, id: event.id,
                                                      stream: UnsafeRawBufferPointer(s), type: UnsafeRawBufferPointer(t),
                                                      contentType: UnsafeRawBufferPointer(c), metadata: m, data: d)
                            try RecordEncoder.append(fields, to: &buffer)
                        }
                    }
                }
            }
        }
    }

    func encodeControl(_ record: PendingRecord, at now: Int64, into buffer: inout [UInt8]) throws {
        guard case .control(let kind, let streamName, let revision, let payload, let custom) = record else { return }
        var stream = streamName
        var type: String
        switch kind {
        case .streamMetadata: type = "$metadata"
        case .streamSoftDelete: type = "$deleted"
        case .streamTombstone: type = "$tombstone"
        case .streamRevision: type = "$revision"
        case .event: type = "$event"
        }
        try stream.withUTF8 { s in
            try type.withUTF8 { t in
                try payload.withUnsafeBytes { d in
                    try (custom ?? Data()).withUnsafeBytes { m in
                        let fields = RecordFields(kind: kind, flags: .commit, position: 0, revision: revision, recordedAtMicros: now,
                                                  id: EventID.random(), stream: UnsafeRawBufferPointer(s), type: UnsafeRawBufferPointer(t),
                                                  contentType: UnsafeRawBufferPointer(start: nil, count: 0), metadata: m, data: d)
                        try RecordEncoder.append(fields, to: &buffer)
                    }
                }
            }
        }
    }

    /// The segment to write `bytes` into: the last one, or a new one when it is full, when the
    /// UTC day changed (with `rollDaily`), or when there is none.
    /// Seals the newest segment when it holds records, by starting the next one now.
    func sealNewestSegment(now: Int64) throws {
        guard let last = index.lastSegment, last.end > SegmentHeader.size else { return }
        _ = try segment(forWriting: 0, firstPosition: index.head + 1, now: now, forceNew: true)
    }

    private func segment(forWriting bytes: Int, firstPosition: UInt64, now: Int64, forceNew: Bool = false) throws -> SegmentEntry {
        if !forceNew, let last = index.lastSegment, let _ = last.file, !last.compressed {
            let hasRecords = last.end > SegmentHeader.size
            let full = last.end + bytes > (try last.bytes).count
            let newDay = configuration.rollDaily && LogEngine.utcDay(now) != LogEngine.utcDay(last.createdAtMicros ?? now)
            if !hasRecords && !full { return last }
            if !full && !newDay { return last }
        }
        let previous = index.lastSegment
        // With `.interval`, the previous segment's tail must be durable before records follow it
        // in a new one (the interval sync only reaches the newest segment). `.none` promises no
        // sync at all: a power loss may lose or tear any of its unsynced writes.
        if case .interval = configuration.durability, let file = previous?.file, unsyncedFrom != nil {
            try StrataErrorBridge.run { try file.sync() }
        }
        unsyncedFrom = nil
        let file = try StrataErrorBridge.run {
            try SegmentFile.create(directory: segmentsDirectory, firstPosition: firstPosition, createdAtMicros: now,
                                   preallocate: Swift.max(configuration.segmentSize, bytes + SegmentHeader.size), fileSystem: fileSystem)
        }
        let entry = try SegmentEntry(file: file)
        withIndexLock {
            if index.segments.isEmpty { index.firstPosition = firstPosition }
            index.segments.append(entry)
        }
        if let previous { sealed(previous, now: now) }
        metrics.segments.record(index.segments.count)
        logger.debug("started a segment", metadata: ["segment": .string(file.path), "firstPosition": .stringConvertible(firstPosition)])
        return entry
    }

    static func utcDay(_ micros: Int64) -> Int64 {
        micros >= 0 ? micros / 86_400_000_000 : (micros - 86_399_999_999) / 86_400_000_000
    }
}
