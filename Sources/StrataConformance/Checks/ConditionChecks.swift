import Foundation
import Strata
import Testing

/// Conditional appends (Dynamic Consistency Boundary): fail if an event matching a query was
/// recorded after the position the writer decided on.
enum ConditionChecks {
    static let all: [ConformanceCheck] = [
        ConformanceCheck("a conditional append fails with the matching position when an event of a queried type came after the given position", typeAfterPosition),
        ConformanceCheck("a conditional append ignores matching events at or before the given position", matchBeforePosition),
        ConformanceCheck("a conditional append with no position fails on any matching event", noPosition),
        ConformanceCheck("a conditional append matches tags carried in metadata, every tag of an item, any item", tags),
        ConformanceCheck("a conditional multi-stream append that fails stores nothing", multiStream),
    ]

    private static func condition(types: Set<String> = [], tags: Set<String> = [], after: UInt64?) -> AppendCondition {
        AppendCondition(failIfEventsMatch: EventQuery(types: types, tags: tags), after: after)
    }

    static func typeAfterPosition(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "course-1", event: sample("course-defined"))      // 1
        try await store.append(to: "student-7", event: sample("student-registered")) // 2
        let decidedAt = try await store.headPosition()
        try await store.append(to: "course-1", event: sample("capacity-changed"))    // 3: a match appears
        try await store.append(to: "noise", event: sample("noted"))                   // 4
        let error = try await expectRejected(store, .appendConditionFailed, streams: ["course-1", "student-7", "enrolment"]) {
            try await store.append(to: "enrolment", events: [sample("enrolled")],
                                   condition: condition(types: ["capacity-changed", "unrelated"], after: decidedAt))
        }
        #expect(error == .appendConditionFailed(position: 3))
        // The first match after the position is reported, not the last.
        try await store.append(to: "course-1", event: sample("capacity-changed"))    // 5
        await expectThrows(.appendConditionFailed(position: 3)) {
            try await store.append(to: "enrolment", events: [sample("enrolled")], condition: condition(types: ["capacity-changed"], after: 2))
        }
        await expectThrows(.appendConditionFailed(position: 5)) {
            try await store.append(to: "enrolment", events: [sample("enrolled")], condition: condition(types: ["capacity-changed"], after: 3))
        }
    }

    static func matchBeforePosition(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "course-1", event: sample("capacity-changed"))    // 1
        try await store.append(to: "noise", events: samples(2))                       // 2, 3
        for after: UInt64 in [1, 2, 3, 10] {
            let r = try await store.append(to: "enrolment-\(after)", events: [sample("enrolled")],
                                           condition: condition(types: ["capacity-changed"], after: after))
            #expect(r.firstRevision == 1)
        }
        // A query nothing matches never fails.
        try await store.append(to: "other", events: [sample()], condition: condition(types: ["never-recorded"], after: nil))
    }

    static func noPosition(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "noise", events: samples(3))
        try await store.append(to: "user-1", event: sample("username-claimed", tags: ["username:ada"]))
        try await expectRejected(store, .appendConditionFailed, streams: ["user-2"]) {
            try await store.append(to: "user-2", events: [sample("username-claimed", tags: ["username:ada"])],
                                   condition: condition(types: ["username-claimed"], tags: ["username:ada"], after: nil))
        }
        await expectThrows(.appendConditionFailed(position: 4)) {
            try await store.append(to: "user-2", events: [sample()], condition: condition(tags: ["username:ada"], after: 0))
        }
    }

    static func tags(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "enrolments", event: sample("enrolled", tags: ["course:1", "student:7"]))  // 1
        try await store.append(to: "enrolments", event: sample("enrolled", tags: ["course:2"]))               // 2
        try await store.append(to: "plain", event: sample("enrolled"))                                       // 3
        // Matches: one tag present; both tags present; the type plus a tag; any item of several.
        let matching: [(EventQuery, UInt64)] = [
            (EventQuery(tags: ["course:1"]), 1),
            (EventQuery(tags: ["course:1", "student:7"]), 1),
            (EventQuery(types: ["enrolled"], tags: ["course:2"]), 2),
            (EventQuery(items: [.init(tags: ["course:9"]), .init(types: ["enrolled"], tags: ["course:2"])]), 2),
            (EventQuery(types: ["enrolled"]), 1),
        ]
        for (query, position) in matching {
            await expectThrows(.appendConditionFailed(position: position), "query \(query)") {
                try await store.append(to: "decision", events: [sample()], condition: AppendCondition(failIfEventsMatch: query, after: nil))
            }
        }
        // No match: a tag missing, a tag on another type, no item at all.
        let notMatching = [
            EventQuery(tags: ["course:1", "student:8"]),
            EventQuery(types: ["dropped"], tags: ["course:1"]),
            EventQuery(tags: ["course:3"]),
            EventQuery(items: []),
        ]
        for query in notMatching {
            try await store.append(to: "decision", events: [sample()], condition: AppendCondition(failIfEventsMatch: query, after: nil))
        }
        #expect(try await store.streamInfo("decision").lastRevision == UInt64(notMatching.count))
    }

    static func multiStream(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "a", event: sample("claimed", tags: ["k"]))
        try await expectRejected(store, .appendConditionFailed, streams: ["a", "b", "c"]) {
            try await store.append([AppendRequest(stream: "b", events: samples(2)), AppendRequest(stream: "c", events: samples(1))],
                                   condition: condition(tags: ["k"], after: 0))
        }
        let results = try await store.append([AppendRequest(stream: "b", events: samples(2)), AppendRequest(stream: "c", events: samples(1))],
                                             condition: condition(tags: ["k"], after: 1))
        #expect(results.map(\.lastPosition) == [3, 4])
    }
}
