import Foundation
import Strata
import StrataConsumers
import StrataModel
import Testing

@Suite("Projectors: once, on, all")
struct ProjectorTests {
    struct Call: Hashable, Sendable {
        var kind: String
        var position: UInt64
        var hydrated: Bool
        var outdated: Bool
    }

    func recordingProjector(_ store: any EventStore, _ calls: Collector<Call>) -> Projector {
        let projector = Projector(store: store)
        projector.once("user:email-set") { event in
            calls.add(Call(kind: "once", position: event.position, hydrated: false, outdated: false))
        }
        projector.on("user:email-set") { event, status in
            calls.add(Call(kind: "on", position: event.position, hydrated: status.hydrated, outdated: status.outdated))
        }
        projector.all("user:email-set") { event, status in
            calls.add(Call(kind: "all", position: event.position, hydrated: status.hydrated, outdated: status.outdated))
        }
        return projector
    }

    @Test("the once/on/all × hydrated/outdated table")
    func table() async throws {
        let store = InMemoryEventStore()
        // Position 1 is outdated by position 2 (same stream, same type, later); position 3 is
        // the only event of its stream.
        try await store.append(to: "user-1", events: [EventData(type: "user:email-set", json: #"{"email":"a@x"}"#),
                                                      EventData(type: "user:email-set", json: #"{"email":"b@x"}"#)])
        try await store.append(to: "user-2", events: [EventData(type: "user:email-set", json: #"{"email":"c@x"}"#)])
        let calls = Collector<Call>()
        let projector = recordingProjector(store, calls)
        let events = try await store.readAllPage(from: .start, direction: .forward, filter: EventFilter(), maxCount: 10).events

        try await projector.handle(events, hydrated: false)
        let live = Set(calls.values)
        #expect(live == [
            Call(kind: "once", position: 2, hydrated: false, outdated: false),
            Call(kind: "once", position: 3, hydrated: false, outdated: false),
            Call(kind: "on", position: 2, hydrated: false, outdated: false),
            Call(kind: "on", position: 3, hydrated: false, outdated: false),
            Call(kind: "all", position: 1, hydrated: false, outdated: true),
            Call(kind: "all", position: 2, hydrated: false, outdated: false),
            Call(kind: "all", position: 3, hydrated: false, outdated: false),
        ])

        calls.reset()
        try await projector.replay()
        #expect(Set(calls.values) == [
            Call(kind: "on", position: 2, hydrated: true, outdated: false),
            Call(kind: "on", position: 3, hydrated: true, outdated: false),
            Call(kind: "all", position: 1, hydrated: true, outdated: true),
            Call(kind: "all", position: 2, hydrated: true, outdated: false),
            Call(kind: "all", position: 3, hydrated: true, outdated: false),
        ])
    }

    @Test("eventStatus says whether an event is stored and whether a later one of its type outdates it")
    func eventStatus() async throws {
        let store = InMemoryEventStore()
        try await store.append(to: "user-1", events: [EventData(type: "user:email-set", json: #"{"email":"a@x"}"#),
                                                      EventData(type: "user:renamed", json: #"{"name":"A"}"#)])
        let projector = Projector(store: store)
        let first = try await store.readStreamPage("user-1", from: .start, direction: .forward, maxCount: 10).events
        #expect(try await projector.eventStatus(of: first[0]) == EventStatus(exists: true, outdated: false))
        #expect(try await projector.eventStatus(of: first[1]) == EventStatus(exists: true, outdated: false))

        // A later event of the same type outdates the first; the other type stays current.
        try await store.append(to: "user-1", events: [EventData(type: "user:email-set", json: #"{"email":"b@x"}"#)])
        #expect(try await projector.eventStatus(of: first[0]) == EventStatus(exists: true, outdated: true))
        #expect(try await projector.eventStatus(of: first[1]) == EventStatus(exists: true, outdated: false))

        // An event from elsewhere (another id at a stored revision, or an unknown stream) does not exist.
        func copy(_ e: RecordedEvent, id: UUID, stream: String) -> RecordedEvent {
            RecordedEvent(id: id, stream: stream, revision: e.revision, position: e.position, recordedAtMicroseconds: e.recordedAtMicroseconds,
                          type: e.type, data: e.data, metadata: e.metadata)
        }
        #expect(try await projector.eventStatus(of: copy(first[0], id: UUID(), stream: "user-1")) == EventStatus(exists: false, outdated: true))
        #expect(try await projector.eventStatus(of: copy(first[0], id: UUID(), stream: "user-9")) == EventStatus(exists: false, outdated: false))
    }

    @Test("a failing once handler runs its failure effect, keeps the event, and the projector goes on")
    func onceFailure() async throws {
        let store = InMemoryEventStore()
        try await store.append(to: "user-1", events: [EventData(type: "user:created", json: #"{"name":{"given":"A","family":"B"},"email":"a@x"}"#)])
        let effects = Collector<String>()
        let projector = Projector(store: store)
        projector.once(UserCreated.self, handler: { _ in throw InsufficientFunds() },
                       onSuccess: { _ in effects.add("success") },
                       onFailure: { envelope, _ in effects.add("failure \(envelope.event.email)") })
        projector.on(UserCreated.self) { envelope, _ in effects.add("on \(envelope.position)") }
        let consumer = projector.consumer(name: "p", checkpoints: MemoryCheckpointStore())
        consumer.start()
        try await consumer.waitUntilProcessed(through: 1, timeout: .seconds(60))
        await consumer.stop()
        #expect(Set(effects.values) == ["failure a@x", "on 1"])
        #expect(try await store.headPosition() == 1)
        #expect(try await consumer.parked().isEmpty)
    }

    @Test("replay rebuilds a wiped read model without re-running once")
    func replayRebuilds() async throws {
        let store = InMemoryEventStore()
        let codec = EventCodec()
        let readModel = LockedDictionary()
        let emails = Collector<String>()
        let projector = Projector(store: store, codec: codec)
        projector.once(UserCreated.self) { envelope in emails.add(envelope.event.email) }
        projector.on(UserCreated.self) { envelope, _ in readModel.set(envelope.stream, envelope.event.email) }
        projector.on(UserEmailSet.self) { envelope, _ in readModel.set(envelope.stream, envelope.event.email) }
        let consumer = projector.consumer(name: "users", checkpoints: MemoryCheckpointStore())
        consumer.start()
        for i in 1 ... 20 {
            try await store.append(to: "user-\(i)", events: [try codec.eventData(UserCreated(name: Name(given: "U", family: "\(i)"), email: "u\(i)@x"))])
        }
        for i in stride(from: 2, through: 20, by: 2) {
            try await store.append(to: "user-\(i)", events: [try codec.eventData(UserEmailSet(email: "new\(i)@x"))])
        }
        try await consumer.waitUntilProcessed(through: try await store.headPosition(), timeout: .seconds(60))
        await consumer.stop()
        let built = readModel.values
        #expect(built.count == 20 && built["user-2"] == "new2@x" && built["user-3"] == "u3@x")
        #expect(emails.values.count == 20)

        readModel.wipe()
        let replayed = try await projector.replay()
        #expect(replayed == 30)
        #expect(readModel.values == built)
        #expect(emails.values.count == 20)
    }

    @Test("each stream's events are handled in order while streams run concurrently")
    func perStreamOrder() async throws {
        let store = InMemoryEventStore()
        for round in 0 ..< 10 {
            for s in 0 ..< 8 {
                try await store.append(to: "s-\(s)", events: [EventData(type: "tick", json: #"{"round":\#(round)}"#)])
            }
        }
        let seen = Collector<(String, UInt64)>()
        let inFlight = Collector<Int>()
        let counter = LockedCounter()
        let projector = Projector(store: store, concurrency: 4)
        projector.all("tick") { event, _ in
            inFlight.add(counter.increment())
            await Task.yield()
            seen.add((event.stream, event.revision))
            counter.decrement()
        }
        try await projector.replay()
        var last: [String: UInt64] = [:]
        for (stream, revision) in seen.values {
            #expect(revision == (last[stream] ?? 0) + 1, "stream \(stream) out of order")
            last[stream] = revision
        }
        #expect(seen.values.count == 80)
        #expect(inFlight.values.max()! <= 4)
    }
}

final class LockedDictionary: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [String: String] = [:]
    func set(_ key: String, _ value: String) { lock.withLock { storage[key] = value } }
    func wipe() { lock.withLock { storage.removeAll() } }
    var values: [String: String] { lock.withLock { storage } }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int { lock.withLock { value += 1; return value } }
    func decrement() { lock.withLock { value -= 1 } }
}
