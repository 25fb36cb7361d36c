import Foundation
import Strata
import StrataNATS
import Synchronization

/// What planning decided for one queued write.
private enum Outcome: Sendable {
    case appended([AppendResult])
    case changed
    case failed(StrataError)
    /// Written by this batch's message, with these results once it is stored.
    case pendingAppend([AppendResult])
    case pendingChange
}

private struct Plan: Sendable {
    var outcomes: [Outcome]
    var entry: StoreEntry?
    var subject: String
    var expectedSequence: UInt64
}

extension JetStreamEventStore {
    static func strataError(_ error: any Error) -> StrataError {
        error as? StrataError ?? .invalidArgument("\(error)")
    }

    func enqueue(_ item: QueuedWrite) {
        if queue.push(item) {
            Task { await self.drain() }
        }
    }

    /// Commits one append in the calling task when no commit is in flight (the single-writer
    /// path, without a task hop); otherwise queues it for the next group commit.
    func commitAppend(_ requests: [AppendRequest], _ condition: AppendCondition?) async throws -> [AppendResult] {
        if queue.lead() {
            let box = OutcomeBox()
            await commit([.append(requests, condition, box.complete)])
            if queue.finishLeading() { Task { await self.drain() } }
            return try box.result()
        }
        return try await withCheckedThrowingContinuation { c in
            enqueue(.append(requests, condition, { c.resume(with: $0) }))
        }
    }

    private func drain() async {
        while let batch = queue.take(maxEvents: configuration.maxEventsPerCommit) {
            await commit(batch)
        }
    }

    private func plan(_ batch: [QueuedWrite], state s: ReplicaState) -> Plan {
        var planner = AppendPlanner(source: ReplicaSource(state: s), head: s.head)
        var outcomes: [Outcome] = []
        var entry: StoreEntry?
        var subject = "\(configuration.subjectPrefix).m"
        for item in batch {
            switch item {
            case .append(let requests, let condition, _):
                do {
                    switch try planner.plan(requests, condition: condition) {
                    case .idempotent(let results): outcomes.append(.appended(results))
                    case .write(let results, _): outcomes.append(.pendingAppend(results))
                    }
                } catch {
                    outcomes.append(.failed(Self.strataError(error)))
                }
            case .delete(let stream, let expected, let mode, _):
                do {
                    let current = try planner.writeState(of: stream)
                    try current.check(expected, stream: stream)
                    if mode == .soft && !current.exists { throw StrataError.streamNotFound(stream) }
                    entry = .delete(stream: stream, mode: mode)
                    subject = "\(configuration.subjectPrefix).d.\(SubjectEncoding.token(for: stream))"
                    outcomes.append(.pendingChange)
                } catch {
                    outcomes.append(.failed(Self.strataError(error)))
                }
            case .metadata(let stream, let metadata, _):
                if s.streams[stream]?.tombstoned == true {
                    outcomes.append(.failed(StrataError.streamTombstoned(stream)))
                } else {
                    entry = .metadata(stream: stream, metadata)
                    subject = "\(configuration.subjectPrefix).meta.\(SubjectEncoding.token(for: stream))"
                    outcomes.append(.pendingChange)
                }
            }
        }
        if !planner.events.isEmpty {
            let events = planner.events.map { CommittedEvent(stream: $0.stream, revision: $0.revision, event: $0.event) }
            if let first = events.first?.stream, events.allSatisfy({ $0.stream == first }) {
                subject = "\(configuration.subjectPrefix).s.\(SubjectEncoding.token(for: first))"
            }
            entry = .commit(firstPosition: s.head + 1, recordedAtMicros: currentMicroseconds(), events: events)
        }
        return Plan(outcomes: outcomes, entry: entry, subject: subject, expectedSequence: s.appliedSequence)
    }

    private func resolve(_ batch: [QueuedWrite], _ outcomes: [Outcome], stored: Bool) {
        for (item, outcome) in zip(batch, outcomes) {
            switch (item, outcome) {
            case (.append(_, _, let complete), .appended(let r)): complete(.success(r))
            case (.append(_, _, let complete), .pendingAppend(let r)) where stored: complete(.success(r))
            case (.delete(_, _, _, let c), .pendingChange) where stored: c.resume()
            case (.metadata(_, _, let c), .pendingChange) where stored: c.resume()
            case (_, .failed(let e)): item.fail(e)
            default: break
            }
        }
    }

    /// Commits one batch: plans it against the replica, publishes it with
    /// `Nats-Expected-Last-Sequence`, and on a conflict catches up and plans again.
    private func commit(_ batch: [QueuedWrite]) async {
        let deadline = ContinuousClock.now + configuration.operationTimeout
        var messageID = UUID().uuidString
        var fresh = false
        while true {
            let plan: Plan
            do {
                plan = try state.withLock { s in
                    try s.checkOpen()
                    return self.plan(batch, state: s)
                }
            } catch {
                for item in batch { item.fail(error) }
                return
            }
            // A refusal or an idempotent answer decided on a replica that may be behind the
            // server is confirmed against the server's latest state first.
            let decidedLocally = plan.outcomes.contains { if case .failed = $0 { return true }; if case .appended = $0 { return true }; return false }
            if decidedLocally && !fresh && configuration.linearizableReads {
                fresh = true
                if (try? await syncWithServer()) != nil { continue }
            }
            guard let entry = plan.entry else {
                resolve(batch, plan.outcomes, stored: false)
                return
            }
            let (headers, body) = CommitFormat.encode(entry)
            if body.count + CommitFormat.entryOverhead > connection.maxPayload {
                if batch.count > 1 {
                    let half = batch.count / 2
                    await commit(Array(batch[..<half]))
                    await commit(Array(batch[half...]))
                } else {
                    resolve(batch, plan.outcomes.map { o in
                        if case .pendingAppend = o {
                            return .failed(StrataError.unsupported("one append of \(body.count) bytes: a JetStream commit must fit the servers' max_payload of \(connection.maxPayload) bytes; split the append"))
                        }
                        return o
                    }, stored: false)
                }
                return
            }
            do {
                let ack = try await js.publish(plan.subject, payload: body, headers: headers,
                                               options: JetStreamPublishOptions(messageID: messageID, expectedLastSequence: plan.expectedSequence,
                                                                                expectedStream: configuration.streamName))
                if ack.duplicate == true {
                    // An earlier attempt of this batch was stored: catch up, then plan again.
                    messageID = UUID().uuidString
                    try await waitApplied(ack.seq)
                    continue
                }
                let location = "\(configuration.streamName)#\(ack.seq)"
                let head = try state.withLock { s -> UInt64? in
                    if s.appliedSequence + 1 == ack.seq {
                        try s.apply(entry, sequence: ack.seq, location: location)
                    }
                    return s.appliedSequence >= ack.seq ? s.head : nil
                }
                if let head {
                    publishProgress(head: head)
                } else {
                    try await waitApplied(ack.seq)
                }
                resolve(batch, plan.outcomes, stored: true)
                return
            } catch NATSError.jetStream(_, let code, let description) where code == NATSError.wrongLastSequenceCode {
                // Another writer came first: apply its entries and decide again.
                let last = description.split(separator: ":").last.flatMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
                if let last { try? await waitApplied(last) } else { try? await syncWithServer() }
            } catch let e as NATSError where Self.isTransient(e) {
                // The write may or may not be stored: catch up; planning again recognises it.
                try? await Task.sleep(for: .milliseconds(20))
                try? await syncWithServer()
            } catch let e as NATSError {
                for item in batch { item.fail(mapped(e, operation: "publish to \(plan.subject)")) }
                return
            } catch {
                for item in batch { item.fail(error) }
                return
            }
            if ContinuousClock.now > deadline {
                for item in batch { item.fail(StrataError.timedOut("committing to JetStream stream \(configuration.streamName)")) }
                return
            }
        }
    }
}

/// Holds the outcome of an append committed by its own task.
private final class OutcomeBox: Sendable {
    private let value = Mutex<Result<[AppendResult], any Error>?>(nil)

    var complete: AppendCompletion { { outcome in self.value.withLock { $0 = outcome } } }

    func result() throws -> [AppendResult] {
        guard let outcome = value.withLock({ $0 }) else {
            throw StrataError.storeClosed(reason: "an append was left without an outcome")
        }
        return try outcome.get()
    }
}
