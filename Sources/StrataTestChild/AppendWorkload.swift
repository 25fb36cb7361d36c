import Foundation
import Strata
import StrataStorage
import StrataTestSupport

/// `append`: seeded appends to the streams PREFIX-0…, one `ack` line each (main.swift).
struct AppendWorkload {
    enum Size {
        case exactly(Int)
        case upTo(Int)
    }

    enum Limit {
        case appends(Int)
        case events(Int)
        case untilKilled
    }

    let prefix: String
    let streams: Int
    let size: Size
    let limit: Limit
    let seed: UInt64
    let follow: FollowWorkload?

    init(_ arguments: ChildArguments) {
        arguments.allow(["prefix", "streams", "batch", "max-batch", "appends", "events", "seed", "follow"])
        prefix = arguments.required("prefix")
        streams = max(1, arguments.number("streams", default: 8)!)
        switch (arguments.number("batch"), arguments.number("max-batch")) {
        case (nil, let most): size = .upTo(max(1, most ?? 5))
        case (let exact?, nil): size = .exactly(max(1, exact))
        default: ChildArguments.usage("--batch and --max-batch exclude each other")
        }
        switch (arguments.number("appends"), arguments.number("events")) {
        case (nil, nil): limit = .untilKilled
        case (let appends?, nil): limit = .appends(appends)
        case (nil, let events?): limit = .events(events)
        default: ChildArguments.usage("--appends and --events exclude each other")
        }
        seed = UInt64(arguments.number("seed", default: Int(getpid()))!)
        follow = arguments.number("follow").map(FollowWorkload.init(count:))
    }

    func run(on store: any EventStore) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            if let follow { group.addTask { try await follow.run(on: store) } }
            group.addTask { try await appendAll(to: store) }
            try await group.waitForAll()
        }
    }

    private func appendAll(to store: any EventStore) async throws {
        var rng = SplitMix64(seed: seed)
        var appends = 0
        var events = 0
        while true {
            var count: Int
            switch size {
            case .exactly(let n): count = n
            case .upTo(let n): count = Int.random(in: 1...n, using: &rng)
            }
            switch limit {
            case .appends(let n) where appends >= n: return
            case .events(let n) where events >= n: return
            case .events(let n): count = min(count, n - events)
            default: break
            }
            let stream = "\(prefix)-\(Int.random(in: 0..<streams, using: &rng))"
            let batch = (0..<count).map { i in EventData(type: "test-event", json: #"{"writer":"\#(prefix)","seq":\#(events + i)}"#) }
            let result = try await store.append(to: stream, events: batch)
            emit(AckLine(result, lastID: batch.last!.id).description)
            appends += 1
            events += count
        }
    }
}

/// `follow`: `$all` from the start, `caughtUp` once and one `event` line per event (main.swift).
struct FollowWorkload {
    let count: Int

    init(count: Int) { self.count = count }

    init(_ arguments: ChildArguments) {
        arguments.allow(["count"])
        count = arguments.requiredNumber("count")
    }

    func run(on store: any EventStore) async throws {
        guard count > 0 else { return }
        var seen = 0
        for try await message in store.subscribeToAll(from: .start) {
            switch message {
            case .caughtUp(let position):
                emit("caughtUp \(position)")
            case .event(let event):
                emit(EventLine(event).description)
                seen += 1
                if seen == count { return }
            case .checkpoint:
                break
            }
        }
        throw StrataError.invalidArgument("the subscription ended after \(seen) of \(count) events")
    }
}
