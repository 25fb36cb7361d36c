import Strata
import Testing

@Suite("StreamVisibility")
struct StreamVisibilityTests {
    private func visibility(last: UInt64, deleted: UInt64 = 0, _ metadata: StreamMetadata = StreamMetadata(),
                            now: Int64 = 1_000_000_000) -> StreamVisibility {
        StreamVisibility(lastRevision: last, deletedThrough: deleted, metadata: metadata, nowMicros: now)
    }

    @Test("without metadata every revision is visible")
    func plain() {
        let v = visibility(last: 10)
        #expect(v.firstRevision == 1 && v.lastRevision == 10 && !v.isEmpty)
        #expect(v.admits(recordedAtMicros: 0))
        #expect(visibility(last: 0).isEmpty)
    }

    @Test("a soft delete hides the revisions it covered")
    func softDelete() {
        #expect(visibility(last: 10, deleted: 4).firstRevision == 5)
        #expect(visibility(last: 4, deleted: 4).isEmpty)
    }

    @Test("maxCount keeps the newest events")
    func maxCount() {
        #expect(visibility(last: 10, StreamMetadata(maxCount: 3)).firstRevision == 8)
        #expect(visibility(last: 2, StreamMetadata(maxCount: 3)).firstRevision == 1)
        #expect(visibility(last: 3, StreamMetadata(maxCount: 3)).firstRevision == 1)
        #expect(visibility(last: 10, StreamMetadata(maxCount: 0)).isEmpty)
    }

    @Test("truncateBefore hides lower revisions")
    func truncateBefore() {
        #expect(visibility(last: 10, StreamMetadata(truncateBefore: 4)).firstRevision == 4)
        #expect(visibility(last: 10, StreamMetadata(truncateBefore: 0)).firstRevision == 1)
        #expect(visibility(last: 10, StreamMetadata(truncateBefore: 11)).isEmpty)
    }

    @Test("the strictest of soft delete, maxCount and truncateBefore wins")
    func combined() {
        #expect(visibility(last: 10, deleted: 2, StreamMetadata(maxCount: 5, truncateBefore: 4)).firstRevision == 6)
        #expect(visibility(last: 10, deleted: 7, StreamMetadata(maxCount: 5, truncateBefore: 4)).firstRevision == 8)
        #expect(visibility(last: 10, deleted: 2, StreamMetadata(maxCount: 9, truncateBefore: 5)).firstRevision == 5)
    }

    @Test("maxAge admits events recorded at or after now minus the age")
    func maxAge() {
        let now: Int64 = 5_000_000
        let v = visibility(last: 3, StreamMetadata(maxAge: 1.5), now: now)
        #expect(v.notBeforeMicros == 3_500_000)
        #expect(v.admits(recordedAtMicros: 3_500_000))
        #expect(!v.admits(recordedAtMicros: 3_499_999))
        #expect(visibility(last: 3, StreamMetadata(maxAge: 0), now: now).admits(recordedAtMicros: now))
        #expect(!visibility(last: 3, StreamMetadata(maxAge: 0), now: now).admits(recordedAtMicros: now - 1))
    }

    @Test("revisions(from:direction:) clamps origins to the visible range", arguments: [
        (ReadOrigin.start, ReadDirection.forward, 4...10 as ClosedRange<UInt64>?),
        (.end, .forward, nil),
        (.at(2), .forward, 4...10),
        (.at(7), .forward, 7...10),
        (.at(10), .forward, 10...10),
        (.at(11), .forward, nil),
        (.start, .backward, 4...10),
        (.end, .backward, 4...10),
        (.at(20), .backward, 4...10),
        (.at(6), .backward, 4...6),
        (.at(4), .backward, 4...4),
        (.at(3), .backward, nil),
        (.at(0), .backward, nil),
    ])
    func ranges(origin: ReadOrigin, direction: ReadDirection, expected: ClosedRange<UInt64>?) {
        let v = visibility(last: 10, StreamMetadata(truncateBefore: 4))
        #expect(v.revisions(from: origin, direction: direction) == expected)
    }

    @Test("an empty visible range gives no revisions in either direction")
    func emptyRange() {
        let v = visibility(last: 5, StreamMetadata(maxCount: 0))
        #expect(v.revisions(from: .start, direction: .forward) == nil)
        #expect(v.revisions(from: .end, direction: .backward) == nil)
    }
}
