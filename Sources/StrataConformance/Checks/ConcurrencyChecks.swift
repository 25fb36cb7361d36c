import Foundation
import Strata
import Testing

/// Optimistic concurrency under contention.
enum ConcurrencyChecks {
    static let all: [ConformanceCheck] = [
        ConformanceCheck("concurrent writers with exact expected revisions: one winner per revision, no gap, every loser gets wrongExpectedRevision", racingWriters),
        ConformanceCheck("concurrent appends to different streams get distinct contiguous positions", parallelStreams),
    ]

    private enum Attempt: Sendable {
        case won(AppendResult, UUID)
        case lost(expected: UInt64, error: StrataError)
        case failed(String)
    }

    static func racingWriters(_ c: ConformanceContext) async throws {
        let store = c.store
        let writers = 16, target: UInt64 = 200
        let attempts = try await withDeadline("\(writers) writers to write \(target) events") {
            try await withThrowingTaskGroup(of: [Attempt].self) { group in
                for _ in 0..<writers {
                    group.addTask {
                        var attempts: [Attempt] = []
                        while true {
                            let last = try await store.streamInfo("contended").lastRevision
                            if last >= target { return attempts }
                            let event = sample("claimed")
                            do {
                                let result = try await store.append(to: "contended", expectedRevision: .exact(last), event: event)
                                attempts.append(.won(result, event.id))
                            } catch let error as StrataError {
                                attempts.append(.lost(expected: last, error: error))
                            } catch {
                                attempts.append(.failed("\(error)"))
                            }
                            await Task.yield()
                        }
                    }
                }
                var all: [Attempt] = []
                for try await some in group { all += some }
                return all
            }
        }
        var winners: [UInt64: [UUID]] = [:]
        for attempt in attempts {
            switch attempt {
            case .won(let result, let id):
                #expect(result.firstRevision == result.lastRevision)
                winners[result.lastRevision, default: []].append(id)
            case .lost(let expected, let error):
                if case .wrongExpectedRevision(let stream, let reported, let actual) = error {
                    #expect(stream == "contended" && reported == .exact(expected))
                    #expect(actual.map { $0 > expected } ?? false, "expected \(expected), actual \(String(describing: actual))")
                } else {
                    Issue.record("a losing writer got \(error) instead of wrongExpectedRevision")
                }
            case .failed(let description):
                Issue.record("a writer failed with \(description)")
            }
        }
        #expect(winners.keys.sorted() == Array(1...target), "one winner for every revision 1...\(target)")
        #expect(winners.values.allSatisfy { $0.count == 1 }, "no revision has two winners")
        let stored = try await readStream(store, "contended")
        #expect(revisions(stored) == Array(1...target))
        #expect(positions(stored) == Array(1...target))
        #expect(stored.map(\.id) == (1...target).map { winners[$0]?.first })
        #expect(try await store.headPosition() == target)
    }

    static func parallelStreams(_ c: ConformanceContext) async throws {
        let store = c.store
        let streams = 8, appendsEach = 50
        let results = try await withDeadline("parallel appends") {
            try await withThrowingTaskGroup(of: [AppendResult].self) { group in
                for s in 0..<streams {
                    group.addTask {
                        var results: [AppendResult] = []
                        for i in 0..<appendsEach {
                            results.append(try await store.append(to: "p-\(s)", expectedRevision: .exact(UInt64(i * 2)), events: samples(2)))
                        }
                        return results
                    }
                }
                var all: [AppendResult] = []
                for try await some in group { all += some }
                return all
            }
        }
        let total = UInt64(streams * appendsEach * 2)
        let claimed = results.flatMap { Array($0.firstPosition...$0.lastPosition) }.sorted()
        #expect(claimed == Array(1...total))
        let all = try await readAll(store)
        #expect(positions(all) == Array(1...total))
        for s in 0..<streams {
            let read = try await readStream(store, "p-\(s)")
            #expect(revisions(read) == Array(1...UInt64(appendsEach * 2)))
            #expect(positions(read) == positions(read).sorted())
        }
    }
}
