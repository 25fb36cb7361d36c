import Foundation
import Strata
import StrataConsumers
import StrataJSON
import StrataNATS

/// Checkpoints, parked events, leases and persistent-subscription definitions of a
/// ``JetStreamEventStore``'s consumers, kept in JetStream itself: a key-value stream
/// `<stream>_CONSUMERS` beside the store's stream, one subject per key, one message kept per
/// subject (docs/JETSTREAM.md, "Consumers' records", format version 1).
///
/// ```swift
/// let checkpoints = try await JetStreamCheckpointStore.open(sharing: store)
/// let member = ConsumerGroupMember(group: "billing", member: "host-a", store: store, checkpoints: checkpoints) { events, _ in … }
/// ```
///
/// Leases are written with compare-and-set (`Nats-Expected-Last-Subject-Sequence`), so two
/// instances never both take one; their expiry is measured by the instances' clocks, which must
/// agree within a small part of the lease (NTP does). The store cannot share a transaction
/// with a read model: consumers using it are at least once.
public final class JetStreamCheckpointStore: CheckpointStore, LeaseStore, SubscriptionDefinitionStore {
    public typealias Transaction = Void

    /// The key-value stream.
    public let streamName: String
    /// Its subject prefix: keys are `<prefix>.<kind>.<token>…`.
    public let subjectPrefix: String
    private let js: JetStream

    private init(js: JetStream, streamName: String, subjectPrefix: String) {
        self.js = js
        self.streamName = streamName
        self.subjectPrefix = subjectPrefix
    }

    /// Opens the consumers' records of `store` on its connection, creating their stream (with
    /// the store's replicas) when it is missing.
    /// - Throws: ``StrataError/io(path:operation:reason:)`` when the servers do not answer.
    public static func open(sharing store: JetStreamEventStore) async throws -> JetStreamCheckpointStore {
        let configuration = store.configuration
        let records = JetStreamCheckpointStore(js: store.js, streamName: configuration.streamName + "_CONSUMERS",
                                               subjectPrefix: configuration.subjectPrefix + "_consumers")
        try await records.nats("create the consumers' stream") {
            do {
                _ = try await records.js.streamInfo(records.streamName)
            } catch NATSError.jetStream(_, let code, _) where code == NATSError.streamNotFoundCode {
                var config = JetStreamStreamConfig(name: records.streamName, subjects: [records.subjectPrefix + ".>"])
                config.numReplicas = configuration.replicas
                config.storage = configuration.fileStorage ? "file" : "memory"
                config.maxMsgsPerSubject = 1
                config.denyDelete = true
                _ = try await records.js.createStream(config)
            }
        }
        return records
    }

    // MARK: Keys

    private static let header = "Strata-Consumers"
    private static let version = "1"

    private func key(_ kind: String, _ name: String) -> String { "\(subjectPrefix).\(kind).\(SubjectEncoding.token(for: name))" }

    private func parkedKey(_ consumer: String, _ position: UInt64) -> String {
        let digits = String(position)
        return key("parked", consumer) + "." + String(repeating: "0", count: 20 - digits.count) + digits
    }

    private var keys: KeyValueStream { KeyValueStream(js: js, stream: streamName, header: Self.header, version: Self.version) }

    /// A key's value and subject sequence; nil when it was never written (or was removed).
    private func get(_ subject: String) async throws -> (value: [UInt8], sequence: UInt64)? {
        try await nats("read \(subject)") { try await keys.get(subject).map { ($0.body, $0.sequence) } }
    }

    /// Writes a key; with `expected`, only if its last subject sequence is still that (0: never
    /// written). Returns false when another writer came first.
    @discardableResult
    private func put(_ subject: String, _ value: some Encodable, expected: UInt64? = nil) async throws -> Bool {
        let encoder = StrataJSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = [UInt8](try encoder.encode(value))
        return try await nats("write \(subject)") { try await keys.put(subject, body, expected: expected) != nil }
    }

    private func remove(_ subject: String) async throws {
        try await nats("remove \(subject)") { try await js.purge(stream: streamName, subject: subject) }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ value: [UInt8], _ subject: String) throws -> T {
        do { return try StrataJSONDecoder().decode(type, from: Data(value)) } catch {
            throw StrataError.corruption(path: "\(streamName):\(subject)", offset: 0, reason: "not a \(type) record: \(error)")
        }
    }

    /// The names under `<prefix>.<kind>.*`, decoded.
    private func names(_ kind: String) async throws -> [(name: String, subject: String)] {
        try await nats("list \(kind) keys") {
            try await js.subjects(stream: streamName, filter: "\(subjectPrefix).\(kind).*").keys.compactMap { subject in
                SubjectEncoding.stream(for: String(subject.split(separator: ".").last ?? "")).map { ($0, subject) }
            }
        }
    }

    private func nats<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let e as NATSError {
            switch e {
            case .closed: throw StrataError.storeClosed(reason: "the NATS connection was closed")
            case .timedOut(let what): throw StrataError.timedOut(what)
            default: throw StrataError.io(path: "nats:\(streamName)", operation: operation, reason: e.description)
            }
        }
    }

    // MARK: Checkpoints

    private struct Checkpoint: Codable { var position: UInt64 }

    public func checkpoint(for consumer: String) async throws -> UInt64? {
        let subject = key("cp", consumer)
        guard let (value, _) = try await get(subject) else { return nil }
        return try decode(Checkpoint.self, value, subject).position
    }

    public func commit<Result: Sendable>(consumer: String, through position: UInt64, _ work: (Transaction) async throws -> Result) async throws -> Result {
        let result = try await work(())
        try await put(key("cp", consumer), Checkpoint(position: position))
        return result
    }

    public func resetCheckpoint(for consumer: String, to position: UInt64?) async throws {
        if let position { try await put(key("cp", consumer), Checkpoint(position: position)) } else { try await remove(key("cp", consumer)) }
    }

    // MARK: Parked events

    public func park(_ entry: ParkedEvent) async throws {
        try await put(parkedKey(entry.consumer, entry.position), entry)
    }

    /// Lists the consumer's parked keys (one subject each), then reads the page it returns.
    public func parked(consumer: String, after position: UInt64?, limit: Int) async throws -> [ParkedEvent] {
        guard limit > 0 else { return [] }
        let prefix = key("parked", consumer) + "."
        let subjects = try await nats("list parked events") { try await js.subjects(stream: streamName, filter: prefix + "*") }
        let positions = subjects.keys.compactMap { UInt64($0.dropFirst(prefix.count)) }.filter { $0 > (position ?? 0) }.sorted().prefix(limit)
        var page: [ParkedEvent] = []
        for p in positions {
            let subject = parkedKey(consumer, p)
            if let (value, _) = try await get(subject) { page.append(try decode(ParkedEvent.self, value, subject)) }
        }
        return page
    }

    public func unpark(consumer: String, position: UInt64) async throws {
        try await remove(parkedKey(consumer, position))
    }

    // MARK: Store binding

    private struct Binding: Codable { var store: StoreIdentity }

    public func boundStore(consumer: String) async throws -> StoreIdentity? {
        let subject = key("store", consumer)
        guard let (value, _) = try await get(subject) else { return nil }
        return try decode(Binding.self, value, subject).store
    }

    public func bind(consumer: String, toStore identity: StoreIdentity) async throws {
        try await put(key("store", consumer), Binding(store: identity))
    }

    // MARK: Leases

    public func acquire(_ name: String, owner: String, for duration: Duration) async throws -> Lease? {
        let subject = key("lease", name)
        // Compare-and-set: a lost race reads the winner's record and decides again.
        for _ in 0 ..< 8 {
            let now = currentMicroseconds()
            let current = try await get(subject)
            let held = try current.map { try decode(Lease.self, $0.value, subject) }
            if let held, held.owner != owner, (held.expiresAtMicroseconds ?? 0) > now { return nil }
            let token = held.map { $0.owner == owner && ($0.expiresAtMicroseconds ?? 0) > now ? $0.token : $0.token + 1 } ?? 1
            let lease = Lease(name: name, owner: owner, token: token, expiresAtMicroseconds: now + duration.microseconds)
            if try await put(subject, lease, expected: current?.sequence ?? 0) { return lease }
        }
        throw StrataError.timedOut("lease \(name): other instances kept writing it")
    }

    public func release(_ name: String, owner: String) async throws {
        let subject = key("lease", name)
        guard let current = try await get(subject) else { return }
        var lease = try decode(Lease.self, current.value, subject)
        guard lease.owner == owner else { return }
        // Lapsed, not removed: the next holder's token still grows. A lost race means another
        // owner wrote it meanwhile: nothing to release.
        lease.expiresAtMicroseconds = 0
        try await put(subject, lease, expected: current.sequence)
    }

    public func leases(prefix: String) async throws -> [Lease] {
        let now = currentMicroseconds()
        var result: [Lease] = []
        for (name, subject) in try await names("lease") where name.hasPrefix(prefix) {
            guard let (value, _) = try await get(subject) else { continue }
            let lease = try decode(Lease.self, value, subject)
            if (lease.expiresAtMicroseconds ?? 0) > now { result.append(lease) }
        }
        return result.sorted { $0.name < $1.name }
    }

    // MARK: Persistent subscription definitions

    public func definitions() async throws -> [String: Data] {
        var result: [String: Data] = [:]
        for (name, subject) in try await names("def") {
            if let (value, _) = try await get(subject) { result[name] = Data(value) }
        }
        return result
    }

    public func saveDefinition(_ key: String, _ record: Data?) async throws {
        let subject = self.key("def", key)
        guard let record else { return try await remove(subject) }
        try await nats("write \(subject)") { _ = try await keys.put(subject, [UInt8](record), expected: nil) }
    }
}
