import Foundation
import Strata
#if canImport(Glibc)
import Glibc
#endif

extension LogEngine {
    /// Called by the writer when `segment` was sealed (a newer segment took over): compresses it
    /// in the background when configured, and applies retention.
    func sealed(_ segment: SegmentEntry, now: Int64) {
        if configuration.compressSealedSegments, let path = segment.file?.path {
            // The segment stays mapped in this process; other processes pick up the .seg.gz
            // when they next open the directory. A failure leaves the plain segment in place.
            Thread.detachNewThread {
                _ = try? SegmentCompression.compress(segmentAt: path)
            }
        }
        applyRetention(now: now)
    }

    /// Drops the oldest sealed segments that retention no longer keeps. Writer thread.
    func applyRetention(now: Int64) {
        guard let retention = configuration.retention else { return }
        while index.segments.count > 1 {
            let oldest = index.segments[0]
            var drop = false
            if let maxAge = retention.maxAge, oldest.lastRecordedAt > 0,
               oldest.lastRecordedAt < now - Int64(maxAge * 1_000_000) {
                drop = true
            }
            if let maxBytes = retention.maxBytes {
                let total = index.segments.reduce(Int64(0)) { $0 + Int64($1.end) }
                if total > maxBytes { drop = true }
            }
            guard drop else { return }
            withIndexLock {
                index.segments.removeFirst()
                index.firstPosition = index.segments[0].firstPosition
            }
            let plain = segmentsDirectory + "/" + SegmentFile.fileName(firstPosition: oldest.firstPosition)
            unlink(plain)
            unlink(segmentsDirectory + "/" + SegmentFile.fileName(firstPosition: oldest.firstPosition, compressed: true))
        }
    }
}
