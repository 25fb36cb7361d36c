import Foundation
import Strata
import StrataStorage

extension LogEngine {
    /// The path of a segment's index file.
    func indexFilePath(firstPosition: UInt64, generation: Int) -> String {
        segmentsDirectory + "/" + SegmentIndexFile.fileName(firstPosition: firstPosition, generation: generation)
    }

    /// Gives every sealed segment without one its index file, oldest first, and installs it
    /// (its offsets, ids and stream revisions leave memory). Stops at the first segment it
    /// cannot index — a read-only open whose index file is missing or damaged, or a failed
    /// write — so that the indexed segments stay the oldest ones; that segment keeps its index
    /// in memory and is tried again after the next seal or open. Writer thread, or open.
    func indexSealedSegments() {
        for segment in index.segments.dropLast() where segment.table == nil {
            do {
                guard let table = try indexFile(for: segment) else { return }
                withIndexLock { index.install(table, in: segment) }
            } catch {
                logger.warning("could not index a sealed segment; its index stays in memory", metadata: [
                    "segment": .string(segment.path), "error": .string("\(error)"),
                ])
                return
            }
        }
    }

    /// Moves the indexing of sealed segments on, between the writer's batches: installs the
    /// index file the background build finished (when its segment is still the oldest one
    /// without), then starts building the next one. Building — reading the segment, sorting,
    /// writing and syncing the file — runs on a thread of its own, so appends do not wait for
    /// it; installing changes the index, so only the writer does it. A failed build is logged and
    /// retried after the next seal. Writer thread.
    func advanceIndexing() {
        guard !configuration.readOnly else { return }
        if let (segment, result) = indexBuilds.takeFinished() {
            switch result {
            case .success(let table):
                let oldest = index.segments.dropLast().first { $0.table == nil }
                if oldest === segment { withIndexLock { index.install(table, in: segment) } }
            case .failure(let error):
                logger.warning("could not index a sealed segment; its index stays in memory", metadata: [
                    "segment": .string(segment.path), "error": .string("\(error)"),
                ])
                indexingDue = false
            }
        }
        guard indexingDue, failure == nil, !indexBuilds.isBusy,
              let next = index.segments.dropLast().first(where: { $0.table == nil }) else { return }
        let end = next.end
        indexBuilds.start(next) { [self] in
            guard let table = try indexFile(for: next, end: end) else { throw StrataError.unsupported("indexing in a read-only open") }
            return table
        }
    }

    /// A sealed segment's index file, checked; rebuilt from the segment when it is missing or
    /// fails its checks (never in a read-only open: nil then). `end` is the segment's committed
    /// end (read by the caller under the index lock when another thread calls this).
    func indexFile(for segment: SegmentEntry, end: Int? = nil) throws -> SegmentIndexFile? {
        let end = end ?? segment.end
        let path = indexFilePath(firstPosition: segment.firstPosition, generation: segment.generation)
        let opened = SegmentIndexFile.open(path: path, firstPosition: segment.firstPosition, generation: segment.generation,
                                           end: end, fileSystem: fileSystem)
        switch opened {
        case .success(let table):
            return table
        case .failure(let rejection):
            if configuration.readOnly { return nil }
            if case .damaged(let reason) = rejection {
                logger.warning("rebuilding a damaged segment index file", metadata: ["file": .string(path), "reason": .string(reason)])
            }
        }
        let bytes = try SegmentIndexFile.build(segmentBytes: try segment.bytes, end: end, firstPosition: segment.firstPosition,
                                               generation: segment.generation, path: segment.path)
        try SegmentIndexFile.write(bytes, to: path, fileSystem: fileSystem)
        switch SegmentIndexFile.open(path: path, firstPosition: segment.firstPosition, generation: segment.generation,
                                     end: end, fileSystem: fileSystem) {
        case .success(let table): return table
        case .failure(let rejection):
            throw StrataError.io(path: path, operation: "read back", reason: "the index file just written does not check: \(rejection)")
        }
    }
}

/// The background build of one sealed segment's index file at a time (the writer installs it).
final class IndexBuilds: @unchecked Sendable {
    // Safe to share: every stored property is guarded by `condition`'s lock.
    private let condition = NSCondition()
    private var running = false
    private var finished: (SegmentEntry, Result<SegmentIndexFile, any Error>)?

    /// Whether a build runs or its result waits to be taken.
    var isBusy: Bool { condition.withLock { running || finished != nil } }

    /// Starts building `segment`'s index file on a thread of its own.
    func start(_ segment: SegmentEntry, build: @escaping @Sendable () throws -> SegmentIndexFile) {
        condition.withLock { running = true }
        Thread.detachNewThread { [self] in
            let result = Result { try build() }
            condition.withLock {
                finished = (segment, result)
                running = false
                condition.broadcast()
            }
        }
    }

    /// The finished build's segment and result, once.
    func takeFinished() -> (SegmentEntry, Result<SegmentIndexFile, any Error>)? {
        condition.withLock {
            defer { finished = nil }
            return finished
        }
    }

    /// Waits until no build runs (at close: a closed store must not change its directory).
    func waitUntilIdle() {
        condition.withLock { while running { condition.wait() } }
    }
}
