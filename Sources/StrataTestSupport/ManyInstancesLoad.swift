import Foundation
import Synchronization

/// The many-instance test of `strata serve` (issue 18, docs/SCALING.md): several instances over
/// one shared store (PostgreSQL, a JetStream cluster), one live `$all` SSE subscriber on each,
/// appends sent round-robin over HTTP while a disruption kills things, and a check that every
/// subscriber saw every acknowledged event exactly once, in position order.
///
/// ```swift
/// let instances = try await ServeInstance.start(3, store: url)
/// let outcome = try await ManyInstancesLoad(events: 300).run(instances) { load in
///     try await load.waitForAcknowledged(100)
///     try await load.kill(0)
/// }
/// #expect(outcome.problems.isEmpty, "\(outcome.problems)")
/// ```
///
/// - Appends: `writers` tasks, each sending its share of the `events` single-event appends one
///   after another; event `k` goes to stream `scale-(k % streams)` through instance
///   `k % instances` (the next running one when that one was killed). A failed or unanswered
///   append (connection refused or reset, 5xx, timeout) is sent again with the same event id
///   through the next running instance until it is acknowledged: ids make appends idempotent,
///   so a retry of an append that was stored answers its original position.
/// - Subscribers: one per instance, `GET /subscribe/$all` from the start, opened and caught up
///   before the first append. A subscriber whose connection ends reconnects to the next running
///   instance with `Last-Event-ID` set to the last id it saw.
/// - The end: once every append is acknowledged, one last event goes in; each subscriber stops
///   when it sees it. Then `$all` is read through a running instance and compared.
public struct ManyInstancesLoad: Sendable {
    /// Single-event appends to send.
    public var events: Int
    /// Concurrent writers.
    public var writers: Int = 4
    /// Streams the events are spread over.
    public var streams: Int = 6
    /// How long one event may take to be acknowledged, retries included.
    public var perEventTimeout: Duration = .seconds(90)
    /// How long the whole run may take.
    public var timeout: Duration = .seconds(300)

    /// A load of `events` appends.
    public init(events: Int) { self.events = events }

    /// What the run found.
    public struct Outcome: Sendable, CustomStringConvertible {
        /// Appends acknowledged with a 2xx answer (the closing event not counted).
        public var acknowledged = 0
        /// Appends sent again after a failure or an unanswered request.
        public var retries = 0
        /// Events in `$all` at the end (the closing event included).
        public var stored = 0
        /// Events stored that no append acknowledged.
        public var storedUnacknowledged = 0
        /// The instances each subscriber was connected to, in order (index: its first instance).
        public var connections: [[Int]] = []
        /// The instances killed.
        public var killed: [Int] = []
        /// Every broken expectation, one line each; empty when the run passed.
        public var problems: [String] = []
        /// Seconds from the first append to the last acknowledgement.
        public var seconds = 0.0

        /// What a passing run of `events` appends with the instances `killed` shows, as broken
        /// expectations (empty when all hold): the checks' ``problems``, every append
        /// acknowledged and stored once with nothing else, the closing event last, and each
        /// subscriber of a killed instance reconnected to a running one (the others never moved).
        public func unmet(events: Int, killed: [Int]) -> [String] {
            var unmet = problems
            if acknowledged != events { unmet.append("\(acknowledged) of \(events) appends acknowledged") }
            if stored != events + 1 { unmet.append("$all holds \(stored) events, not the \(events) appended and the closing one") }
            if storedUnacknowledged != 0 { unmet.append("\(storedUnacknowledged) events stored without an acknowledgement") }
            if self.killed != killed { unmet.append("killed \(self.killed), not \(killed)") }
            for (home, instances) in connections.enumerated() {
                if killed.contains(home) {
                    if instances.count < 2 || instances.first != home || instances.dropFirst().contains(where: killed.contains) {
                        unmet.append("subscriber \(home) of a killed instance connected to \(instances), not to a running one after it")
                    }
                } else if instances != [home] {
                    unmet.append("subscriber \(home) of a running instance connected to \(instances)")
                }
            }
            return unmet
        }

        /// One line with the figures.
        public var description: String {
            "acknowledged \(acknowledged), retries \(retries), stored \(stored) (\(storedUnacknowledged) unacknowledged), killed \(killed), "
                + "subscriber connections \(connections), \(String(format: "%.1f", seconds)) s, \(problems.count) problems"
        }
    }

    /// What the disruption is given: the instances, waits on the load's progress, and kills.
    public final class Control: Sendable {
        /// The instances, in start order.
        public let instances: [ServeInstance]
        fileprivate let state = Mutex(State())

        fileprivate struct State {
            var killed: Set<Int> = []
            var acknowledged: [Int: Acknowledged] = [:]
            var retries = 0
        }

        fileprivate init(instances: [ServeInstance]) { self.instances = instances }

        /// How many appends are acknowledged so far.
        public var acknowledged: Int { state.withLock { $0.acknowledged.count } }

        /// Waits until at least `count` appends are acknowledged.
        public func waitForAcknowledged(_ count: Int, timeout: Duration = .seconds(120)) async throws {
            try await Wait.until("\(count) acknowledged appends", timeout: timeout) { acknowledged >= count }
        }

        /// Marks instance `index` dead (writers and subscribers stop choosing it), then SIGKILLs it.
        public func kill(_ index: Int) async throws {
            state.withLock { _ = $0.killed.insert(index) }
            try await instances[index].process.kill()
        }

        /// The instances not killed.
        public var running: [ServeInstance] {
            let killed = state.withLock { $0.killed }
            return instances.filter { !killed.contains($0.index) }
        }

        /// The first running instance at or after `index` (cyclically).
        fileprivate func runningInstance(from index: Int) throws -> ServeInstance {
            let killed = state.withLock { $0.killed }
            for step in 0..<instances.count where !killed.contains((index + step) % instances.count) {
                return instances[(index + step) % instances.count]
            }
            throw LoadFailure(description: "every instance was killed")
        }
    }

    struct LoadFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// An event as a subscriber or a read saw it.
    struct Seen: Equatable, CustomStringConvertible {
        let position: UInt64
        let id: String
        var description: String { "\(position):\(id)" }
    }

    /// One subscriber's record.
    final class Subscriber: Sendable {
        struct State {
            var seen: [Seen] = []
            var lastEventID: String?
            var caughtUp = false
            var finished = false
            var connections: [Int] = []
            var problems: [String] = []
        }

        let home: Int
        let state = Mutex(State())

        init(home: Int) { self.home = home }

        /// Follows `$all` until the closing event, reconnecting to running instances.
        func follow(control: Control, closingID: String) async {
            var target = home
            while !Task.isCancelled {
                let instance: ServeInstance
                do { instance = try control.runningInstance(from: target) } catch {
                    state.withLock { $0.problems.append("subscriber \(home): \(error)") }
                    return
                }
                target = instance.index
                let headers = state.withLock { s -> [(String, String)] in
                    s.connections.append(target)
                    return s.lastEventID.map { [("Last-Event-ID", $0)] } ?? []
                }
                let ended: String
                do {
                    let stopped = try await SSETestReader.follow(instance.baseURL + "/subscribe/$all", headers: headers) { message in
                        self.receive(message, closingID: closingID)
                    }
                    if stopped { return }
                    ended = "the stream ended"
                } catch {
                    ended = "\(error)"
                }
                if Task.isCancelled { return }
                if !control.state.withLock({ $0.killed.contains(target) }) {
                    // Only a killed instance may drop its subscribers.
                    state.withLock { $0.problems.append("subscriber \(home): \(instance) dropped the subscription (\(ended))") }
                    // Retry the same instance after a moment rather than spinning.
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
        }

        /// Records one message; false once the closing event arrived.
        private func receive(_ message: SSEMessage, closingID: String) -> Bool {
            state.withLock { s in
                switch message.event {
                case "caught-up":
                    s.caughtUp = true
                case "message":
                    guard let object = (try? JSONSerialization.jsonObject(with: Data(message.data.utf8))) as? [String: Any],
                          let id = object["id"] as? String, let position = (object["position"] as? NSNumber)?.uint64Value else {
                        s.problems.append("subscriber \(home): unreadable message \(message)")
                        return true
                    }
                    if message.id != String(position) {
                        s.problems.append("subscriber \(home): message id \(message.id ?? "none") for position \(position)")
                    }
                    s.seen.append(Seen(position: position, id: id.lowercased()))
                    s.lastEventID = message.id
                    if id.lowercased() == closingID {
                        s.finished = true
                        return false
                    }
                case "error":
                    s.problems.append("subscriber \(home): error message \(message.data)")
                default:
                    break
                }
                return true
            }
        }
    }

    /// An acknowledged append.
    struct Acknowledged {
        let id: String
        let position: UInt64
    }

    /// Runs the load over `instances`, with `disruption` running beside the writers (it may
    /// wait for progress and kill instances or anything else). Every process stays the
    /// caller's to stop.
    public func run(_ instances: [ServeInstance],
                    disruption: @escaping @Sendable (Control) async throws -> Void) async throws -> Outcome {
        let load = self
        return try await Wait.within(timeout, "the many-instance load over \(instances.count) instances") {
            try await load.runUnbounded(instances, disruption: disruption)
        }
    }

    private func runUnbounded(_ instances: [ServeInstance],
                              disruption: @escaping @Sendable (Control) async throws -> Void) async throws -> Outcome {
        let control = Control(instances: instances)
        let subscribers = instances.map { Subscriber(home: $0.index) }
        let closingID = UUID().uuidString.lowercased()
        var outcome = Outcome()

        return try await withThrowingTaskGroup(of: Void.self) { group in
            defer { group.cancelAll() }
            let following = Task {
                await withTaskGroup(of: Void.self) { followers in
                    for subscriber in subscribers {
                        followers.addTask { await subscriber.follow(control: control, closingID: closingID) }
                    }
                }
            }
            defer { following.cancel() }
            try await Wait.until("every subscriber to catch up", timeout: .seconds(60)) {
                subscribers.allSatisfy { $0.state.withLock { $0.caughtUp } }
            }

            let started = ContinuousClock.now
            let load = self
            for writer in 0..<writers {
                group.addTask {
                    for k in stride(from: writer, to: load.events, by: load.writers) {
                        let id = UUID().uuidString.lowercased()
                        let position = try await load.append(id: id, k: k, type: "tick", control: control)
                        control.state.withLock { $0.acknowledged[k] = Acknowledged(id: id, position: position) }
                    }
                }
            }
            group.addTask { try await disruption(control) }
            try await group.waitForAll()
            outcome.seconds = Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000

            // The closing event; every subscriber stops once it has seen it.
            _ = try await append(id: closingID, k: events, type: "end", control: control)
            try await Wait.until("every subscriber to see the closing event", timeout: .seconds(120)) {
                subscribers.allSatisfy { $0.state.withLock { $0.finished } }
            }
            following.cancel()
            await following.value

            let stored = try await Self.readAll(through: control.runningInstance(from: 0))
            let acks = control.state.withLock { $0.acknowledged }
            outcome.acknowledged = acks.count
            outcome.retries = control.state.withLock { $0.retries }
            outcome.killed = control.state.withLock { $0.killed.sorted() }
            outcome.stored = stored.count
            outcome.connections = subscribers.map { $0.state.withLock { $0.connections } }
            outcome.problems = Self.check(stored: stored, acknowledged: Array(acks.values), closingID: closingID,
                                          subscribers: subscribers, outcome: &outcome)
            return outcome
        }
    }

    /// Appends one event with `id` through instance `k % instances` (or the next running one),
    /// sending it again until it is acknowledged; returns its position.
    private func append(id: String, k: Int, type: String, control: Control) async throws -> UInt64 {
        let body = #"{"expectedRevision":"any","events":[{"id":"\#(id)","type":"\#(type)","data":{"k":\#(k)}}]}"#
        let deadline = ContinuousClock.now + perEventTimeout
        var attempt = 0
        var failures: [String] = []
        while true {
            let instance = try control.runningInstance(from: k + attempt)
            do {
                let answer = try await HTTPTestClient.send(.POST, instance.baseURL + "/streams/scale-\(k % streams)", body: body,
                                                           timeout: .seconds(45))
                if answer.status == 200, let position = (answer.json["firstPosition"] as? NSNumber)?.uint64Value {
                    return position
                }
                // A refusal other than "not now" is a bug (event-id-reused: idempotency broke).
                guard answer.status >= 500 || answer.status == 429 else {
                    throw LoadFailure(description: "append \(k) through \(instance) answered \(answer.status): \(answer.text)")
                }
                failures.append("\(instance.index): \(answer.status) \(answer.errorCode ?? "")")
            } catch let failure as LoadFailure {
                throw failure
            } catch {
                failures.append("\(instance.index): \(error)")
            }
            guard ContinuousClock.now < deadline else {
                throw LoadFailure(description: "append \(k) not acknowledged within \(perEventTimeout): \(failures.suffix(5))")
            }
            attempt += 1
            control.state.withLock { $0.retries += 1 }
            // The next try goes to another instance; give an election or a reconnect a moment.
            try await Task.sleep(for: .milliseconds(25 * min(attempt, 8)))
        }
    }

    /// Every event of `$all`, read page by page through `instance`.
    static func readAll(through instance: ServeInstance) async throws -> [Seen] {
        var seen: [Seen] = []
        var from: UInt64? = 1
        while let next = from {
            let answer = try await HTTPTestClient.send(.GET, instance.baseURL + "/streams/$all?from=\(next)&limit=1000")
            guard answer.status == 200, let events = answer.json["events"] as? [[String: Any]] else {
                throw LoadFailure(description: "reading $all through \(instance) answered \(answer.status): \(answer.text)")
            }
            for event in events {
                guard let id = event["id"] as? String, let position = (event["position"] as? NSNumber)?.uint64Value else {
                    throw LoadFailure(description: "unreadable event \(event)")
                }
                seen.append(Seen(position: position, id: id.lowercased()))
            }
            from = (answer.json["next"] as? NSNumber)?.uint64Value
        }
        return seen
    }

    /// The broken expectations: `$all` gap-free, each acknowledged append stored once where it
    /// was acknowledged, and each subscriber's events exactly `$all`'s, in order.
    static func check(stored: [Seen], acknowledged: [Acknowledged], closingID: String, subscribers: [Subscriber],
                      outcome: inout Outcome) -> [String] {
        var problems: [String] = []
        if let gap = stored.enumerated().first(where: { $0.element.position != UInt64($0.offset + 1) }) {
            problems.append("$all positions are not 1…\(stored.count) without a gap: position \(gap.element.position) at index \(gap.offset)")
        }
        var storedAt: [String: [UInt64]] = [:]
        for event in stored { storedAt[event.id, default: []].append(event.position) }
        for (id, positions) in storedAt where positions.count > 1 { problems.append("event \(id) stored at \(positions)") }
        let ackedIDs = Set(acknowledged.map(\.id))
        for ack in acknowledged where storedAt[ack.id] != [ack.position] {
            problems.append("acknowledged event \(ack.id) at \(ack.position) is stored at \(storedAt[ack.id] ?? [])")
        }
        outcome.storedUnacknowledged = stored.filter { !ackedIDs.contains($0.id) && $0.id != closingID }.count
        if stored.last?.id != closingID { problems.append("the closing event is not the last of $all") }
        for subscriber in subscribers {
            let state = subscriber.state.withLock { $0 }
            problems += state.problems
            if state.seen != stored {
                let first = zip(state.seen, stored).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                    ?? min(state.seen.count, stored.count)
                problems.append("subscriber \(subscriber.home) saw \(state.seen.count) events, $all holds \(stored.count); first difference at index \(first): "
                    + "\(state.seen.dropFirst(first).prefix(3)) vs \(stored.dropFirst(first).prefix(3))")
            }
        }
        return problems
    }
}
