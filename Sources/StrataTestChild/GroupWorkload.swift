import Foundation
import Strata
import StrataConsumers
import StrataJetStream
import StrataPostgres
import StrataSQLite
#if canImport(Glibc)
import Glibc
#endif

/// `group`: one member of a consumer group (main.swift). Its handler appends
/// `handled <wall-clock ns> <position> <stream> <revision>` to the log file, one write(2) per event, before the
/// partition's checkpoint is committed, so that a checkpoint read after the fact is covered by
/// the lines already in the file.
struct GroupWorkload {
    let checkpoints: String
    let group: String
    let member: String
    let partitions: Int
    let lease: Duration
    let until: UInt64
    let log: String
    let batch: Int
    let pause: Duration

    init(_ arguments: ChildArguments) {
        arguments.allow(["checkpoints", "group", "member", "partitions", "lease-ms", "until", "log", "batch", "pause-ms"])
        checkpoints = arguments.required("checkpoints")
        group = arguments.required("group")
        member = arguments.required("member")
        partitions = arguments.number("partitions", default: 8)!
        lease = .milliseconds(arguments.number("lease-ms", default: 1000)!)
        until = UInt64(arguments.requiredNumber("until"))
        log = arguments.required("log")
        batch = max(1, arguments.number("batch", default: 20)!)
        pause = .milliseconds(arguments.number("pause-ms", default: 0)!)
    }

    func run(on store: any EventStore) async throws {
        if checkpoints.hasPrefix("file:") {
            try await run(store, try FileCheckpointStore(directory: String(checkpoints.dropFirst(5))))
        } else if checkpoints.hasPrefix("sqlite:") {
            // Members commit back to back on one file: a long busy timeout, not a starved member.
            let sqlite = try SQLiteCheckpointStore(path: String(checkpoints.dropFirst(7)),
                                                   configuration: SQLiteConfiguration(busyTimeoutMilliseconds: 60_000))
            try await run(store, sqlite)
            try await sqlite.close()
        } else if checkpoints == "postgres", let postgres = store as? PostgresEventStore {
            try await run(store, PostgresCheckpointStore(store: postgres))
        } else if checkpoints == "jetstream", let jetStream = store as? JetStreamEventStore {
            try await run(store, try await JetStreamCheckpointStore.open(sharing: jetStream))
        } else {
            ChildArguments.usage("--checkpoints must be file:DIR, sqlite:PATH, postgres (a postgres store) or jetstream (a nats store)")
        }
    }

    private func run<C: CheckpointStore & LeaseStore>(_ store: any EventStore, _ checkpoints: C) async throws {
        let descriptor = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw StrataError.io(path: log, operation: "open", reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        let member = ConsumerGroupMember(group: group, member: member, store: store, checkpoints: checkpoints,
                                         options: ConsumerOptions(batchSize: batch, retry: .none, parkFailures: false),
                                         partitions: partitions, leaseDuration: lease) { [pause] events, _ in
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            let nanoseconds = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
            var text = ""
            for event in events { text += "handled \(nanoseconds) \(event.position) \(event.stream) \(event.revision)\n" }
            let bytes = Array(text.utf8)
            guard bytes.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == bytes.count else {
                throw StrataError.io(path: log, operation: "write", reason: String(cString: strerror(errno)))
            }
            // Logged, not yet committed, for a while: kills land between a batch's effects and its checkpoint.
            if pause > .zero { try await Task.sleep(for: pause) }
        }
        let stopped = LockedError()
        member.start { stopped.set($0) }
        emit("started")
        var announced = -1
        // Done once every partition of the group is checkpointed through `until`.
        while true {
            if let error = stopped.get() { throw error }
            let held = member.heldPartitions().count
            if held != announced {
                emit("holding \(held)")
                announced = held
            }
            let status = try await member.status()
            if status.partitions.allSatisfy({ ($0.checkpoint ?? 0) >= until }) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        await member.stop()
        emit("done")
    }
}

/// The error that stopped a member, if any.
private final class LockedError: @unchecked Sendable {
    private let lock = NSLock()
    private var error: (any Error)?
    func set(_ error: any Error) { lock.withLock { self.error = error } }
    func get() -> (any Error)? { lock.withLock { error } }
}
