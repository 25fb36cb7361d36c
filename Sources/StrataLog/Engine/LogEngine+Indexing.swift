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

    /// A sealed segment's index file, checked; rebuilt from the segment when it is missing or
    /// fails its checks (never in a read-only open: nil then).
    func indexFile(for segment: SegmentEntry) throws -> SegmentIndexFile? {
        let path = indexFilePath(firstPosition: segment.firstPosition, generation: segment.generation)
        let opened = SegmentIndexFile.open(path: path, firstPosition: segment.firstPosition, generation: segment.generation,
                                           end: segment.end, fileSystem: fileSystem)
        switch opened {
        case .success(let table):
            return table
        case .failure(let rejection):
            if configuration.readOnly { return nil }
            if case .damaged(let reason) = rejection {
                logger.warning("rebuilding a damaged segment index file", metadata: ["file": .string(path), "reason": .string(reason)])
            }
        }
        let bytes = try SegmentIndexFile.build(segmentBytes: try segment.bytes, end: segment.end, firstPosition: segment.firstPosition,
                                               generation: segment.generation, path: segment.path)
        try SegmentIndexFile.write(bytes, to: path, fileSystem: fileSystem)
        switch SegmentIndexFile.open(path: path, firstPosition: segment.firstPosition, generation: segment.generation,
                                     end: segment.end, fileSystem: fileSystem) {
        case .success(let table): return table
        case .failure(let rejection):
            throw StrataError.io(path: path, operation: "read back", reason: "the index file just written does not check: \(rejection)")
        }
    }
}
