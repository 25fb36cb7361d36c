import Foundation
import Strata
import StrataNATS
import Synchronization

/// What planning decided for one queued write.
private enum Outcome: Sendable {
    case appended([AppendResult])
    case failed(StrataError)
    /// Written by this batch's message, with these results once it is stored.
    case pendingAppend([AppendResult])
    case pendingChange
}

/// A queued append, delete or metadata change, as a commit takes it.
typealias QueuedChange = GroupCommitQueue<StoreChange, [AppendResult]>.Pending

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

    /// Queues a delete or metadata change (each is a commit of its own) and waits for its commit.
    func submit(_ change: StoreChange) async throws {
        let size = change.groupCommitSize
        _ = try await queue.submit(change, bytes: size.bytes, events: size.events, alone: !change.isAppend)
    }

    /// Commits one append in the calling task when no commit is in flight (the single-writer
    /// path, without a task hop); otherwise queues it for the next group commit.
    func commitAppend(_ requests: [AppendRequest], _ condition: AppendCondition?) async throws -> [AppendResult] {
        let size = requests.groupCommitSize
        return try await queue.submitInline(.append(requests, condition: condition), bytes: size.bytes, events: size.events) {
            await commit($0)
        }
    }

    /// Commits batches from the queue until it closes (one commit in flight at a time).
    func runCommitter() async {
        await queue.consume { await commit($0) }
    }

    private func plan(_ batch: [QueuedChange], state s: ReplicaState) -> Plan {
        var planner = AppendPlanner(source: s.log, head: s.head)
        var outcomes: [Outcome] = []
        var entry: StoreEntry?
        var subject = "\(configuration.subjectPrefix).m"
        for item in batch {
            switch item.request {
            case .append(let requests, let condition):
                do {
                    switch try planner.plan(requests, condition: condition) {
                    case .idempotent(let results): outcomes.append(.appended(results))
                    case .write(let results, _): outcomes.append(.pendingAppend(results))
                    }
                } catch {
                    outcomes.append(.failed(Self.strataError(error)))
                }
            case .delete(let stream, let expected, let mode):
                do {
                    _ = try planner.writeState(of: stream).afterDelete(stream, expected: expected, mode: mode)
                    entry = .delete(stream: stream, mode: mode)
                    subject = "\(configuration.subjectPrefix).d.\(SubjectEncoding.token(for: stream))"
                    outcomes.append(.pendingChange)
                } catch {
                    outcomes.append(.failed(Self.strataError(error)))
                }
            case .setMetadata(let stream, let metadata):
                do {
                    try s.log.writeState(of: stream).checkMetadataChange(of: stream)
                    entry = .metadata(stream: stream, metadata)
                    subject = "\(configuration.subjectPrefix).meta.\(SubjectEncoding.token(for: stream))"
                    outcomes.append(.pendingChange)
                } catch {
                    outcomes.append(.failed(Self.strataError(error)))
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

    private func resolve(_ batch: [QueuedChange], _ outcomes: [Outcome], stored: Bool) {
        for (item, outcome) in zip(batch, outcomes) {
            switch outcome {
            case .appended(let results): item.succeed(results)
            case .pendingAppend(let results) where stored: item.succeed(results)
            case .pendingChange where stored: item.succeed([])
            case .failed(let error): item.fail(error)
            case .pendingAppend, .pendingChange: break
            }
        }
    }

    /// Commits one batch: plans it against the replica, publishes it with
    /// `Nats-Expected-Last-Sequence`, and on a conflict catches up and plans again.
    private func commit(_ batch: [QueuedChange]) async {
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
                        switch o {
                        case .pendingAppend:
                            return .failed(StrataError.unsupported("one append of \(body.count) bytes: a JetStream commit must fit the servers' max_payload of \(connection.maxPayload) bytes; split the append"))
                        case .pendingChange:
                            return .failed(StrataError.unsupported("a change of \(body.count) bytes: a JetStream entry must fit the servers' max_payload of \(connection.maxPayload) bytes"))
                        default:
                            return o
                        }
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
