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

    /// What a batch's decisions need from the index, read before planning (the planner is
    /// synchronous): the state of every stream it names, the location of every event id, and
    /// the answer of every condition.
    private func snapshot(for batch: [QueuedChange], marker: IndexMarker) async throws -> IndexSnapshot {
        var streams = Set<String>()
        var ids: [UUID] = []
        var conditions = Set<IndexSnapshot.ConditionKey>()
        for item in batch {
            switch item.request {
            case .append(let requests, let condition):
                for r in requests {
                    streams.insert(r.stream)
                    for e in r.events { ids.append(e.id) }
                }
                if let condition { conditions.insert(.init(query: condition.query, after: condition.after ?? 0)) }
            case .delete(let stream, _, _), .setMetadata(let stream, _):
                streams.insert(stream)
            }
        }
        let index = self.index
        var snapshot = IndexSnapshot()
        let idList = ids
        async let records = concurrently(Array(streams)) { name in (name, try await index.record(name)) }
        async let locations = concurrently(idList) { id in (id, try await index.location(of: id)) }
        for (name, found) in try await records {
            snapshot.streams[name] = found?.record.writeState ?? .new
            snapshot.records[name] = .some(found)
        }
        for (id, location) in try await locations {
            if let location { snapshot.ids[id] = location }
        }
        for key in conditions {
            snapshot.conditions[key] = try await firstEvent(matching: key.query, after: key.after, head: marker.head)
        }
        return snapshot
    }

    /// The position of the first stored event after `after` that matches `query`: a scan of the
    /// events after `after`, a window of positions at a time.
    private func firstEvent(matching query: EventQuery, after: UInt64, head: UInt64) async throws -> UInt64? {
        var p = after + 1
        while p <= head {
            let window = p ... Swift.min(head, p + 4095)
            if let hit = try await index.events(window).first(where: { query.matches($0) }) { return hit.position }
            p = window.upperBound + 1
        }
        return nil
    }

    private func plan(_ batch: [QueuedChange], snapshot: IndexSnapshot, marker: IndexMarker) -> Plan {
        var planner = AppendPlanner(source: snapshot, head: marker.head)
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
                    try snapshot.writeState(of: stream).checkMetadataChange(of: stream)
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
            entry = .commit(firstPosition: marker.head + 1, recordedAtMicros: currentMicroseconds(), events: events)
        }
        return Plan(outcomes: outcomes, entry: entry, subject: subject, expectedSequence: marker.sequence)
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

    /// Commits one batch: plans it against the index, publishes it with
    /// `Nats-Expected-Last-Sequence`, indexes it, and on a conflict catches up and plans again.
    private func commit(_ batch: [QueuedChange]) async {
        let deadline = ContinuousClock.now + configuration.operationTimeout
        var messageID = UUID().uuidString
        var fresh = false
        while true {
            var expected: UInt64 = 0
            do {
                try checkOpen()
                let (marker, markerSequence) = try await indexed(through: state.withLock { $0.knownSequence })
                expected = marker.sequence
                let snapshot = try await snapshot(for: batch, marker: marker)
                let plan = self.plan(batch, snapshot: snapshot, marker: marker)
                // A refusal or an idempotent answer decided on an index that may be behind the
                // server is confirmed against the server's latest state first.
                let decidedLocally = plan.outcomes.contains { if case .failed = $0 { return true }; if case .appended = $0 { return true }; return false }
                if decidedLocally && !fresh && configuration.linearizableReads {
                    fresh = true
                    if let latest = try? await serverSequence(), latest > marker.sequence { continue }
                }
                guard let entry = plan.entry else {
                    resolve(batch, plan.outcomes, stored: false)
                    return
                }
                let (headers, body) = CommitFormat.encode(entry, head: marker.head)
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
                let ack = try await js.publish(plan.subject, payload: body, headers: headers,
                                               options: JetStreamPublishOptions(messageID: messageID, expectedLastSequence: plan.expectedSequence,
                                                                                expectedStream: configuration.streamName))
                learned(ack.seq)
                if ack.duplicate == true {
                    // An earlier attempt of this batch was stored: catch up, then plan again.
                    messageID = UUID().uuidString
                    continue
                }
                // Index the entry now, so that reads anywhere find it without repairing. Should
                // this fail, the next operation that needs it indexes it (the commit is stored).
                if ack.seq == marker.sequence + 1,
                   let indexed = try? await index.index(entry, sequence: ack.seq, after: marker, markerSequence: markerSequence,
                                                        known: snapshot.records) {
                    observe(indexed.marker)
                }
                resolve(batch, plan.outcomes, stored: true)
                return
            } catch NATSError.jetStream(_, let code, let description) where code == NATSError.wrongLastSequenceCode {
                // Another writer came first: learn its sequence and decide again.
                let last = description.split(separator: ":").last.flatMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
                if let last, last > expected { learned(last) } else { _ = try? await serverSequence() }
            } catch let e as NATSError where Self.isTransient(e) {
                // The write may or may not be stored: catch up; planning again recognises it.
                try? await Task.sleep(for: .milliseconds(20))
                _ = try? await serverSequence()
            } catch let e as NATSError {
                for item in batch { item.fail(mapped(e, operation: "publish to \(configuration.streamName)")) }
                return
            } catch let e as StrataError {
                if case .io = e, ContinuousClock.now < deadline {
                    // A transient failure of the index's reads (mapped): try again.
                    try? await Task.sleep(for: .milliseconds(20))
                    continue
                }
                for item in batch { item.fail(e) }
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

/// The index's answers a batch's planning needs, read before planning.
struct IndexSnapshot: AppendStateSource {
    struct ConditionKey: Hashable {
        var query: EventQuery
        var after: UInt64
    }

    var streams: [String: StreamWriteState] = [:]
    /// The records the states come from, with their subject sequences (`nil`: unknown stream),
    /// which indexing the planned entry starts from.
    var records: [String: (record: StreamRecord, subjectSequence: UInt64)?] = [:]
    var ids: [UUID: EventLocation] = [:]
    var conditions: [ConditionKey: UInt64?] = [:]

    func writeState(of stream: String) -> StreamWriteState { streams[stream] ?? .new }
    func location(ofEvent id: UUID) -> EventLocation? { ids[id] }
    func firstEvent(matching query: EventQuery, after position: UInt64) -> UInt64? {
        conditions[ConditionKey(query: query, after: position)] ?? nil
    }
}
