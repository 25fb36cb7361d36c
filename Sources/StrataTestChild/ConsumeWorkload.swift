import Foundation
import Strata
import StrataConsumers

/// `consume`: a state-file or a checkpointed consumer that prints what its handler sees (main.swift).
struct ConsumeWorkload {
    enum Variant: String {
        case state
        case checkpoint
    }

    let variant: Variant
    let path: String
    let until: UInt64
    let options: ConsumerOptions
    /// With `--block-after N`: once the handler saw position N, it prints `blocked N` and never
    /// returns, so that the parent kills it mid-stream for certain.
    let blockAfter: UInt64?

    init(_ arguments: ChildArguments) {
        arguments.allow(["variant", "path", "until", "batch", "block-after"])
        guard let variant = Variant(rawValue: arguments.required("variant")) else { ChildArguments.usage("--variant must be state or checkpoint") }
        self.variant = variant
        path = arguments.required("path")
        until = UInt64(arguments.requiredNumber("until"))
        blockAfter = arguments.number("block-after", default: nil).map(UInt64.init)
        options = ConsumerOptions(batchSize: max(1, arguments.number("batch", default: 50)!), retry: .none, parkFailures: false)
    }

    /// Never returns once `position` is the one to block after.
    private func block(at position: UInt64) {
        guard position == blockAfter else { return }
        emit("blocked \(position)")
        while true { sleep(3600) }
    }

    func run(on store: any EventStore) async throws {
        switch variant {
        case .state:
            struct Tally: Codable, Sendable {
                var count = 0
                var last: UInt64 = 0
            }
            let consumer = try StateFileConsumer(snapshotFile: path, store: store, options: options, defaultState: Tally()) { tally, event in
                emit("handled \(event.position)")
                block(at: event.position)
                if event.position != tally.last + 1 {
                    emit("out-of-order \(event.position) after \(tally.last)")
                    exit(4)
                }
                tally.last = event.position
                tally.count += 1
            }
            consumer.start()
            try await consumer.waitUntilProcessed(through: until, timeout: .seconds(60))
            await consumer.stop()
            emit("done \(consumer.state.last) \(consumer.state.count)")
        case .checkpoint:
            let consumer = CheckpointedConsumer(name: "killed", store: store, checkpoints: try FileCheckpointStore(directory: path),
                                                options: options) { events, _ in
                for event in events {
                    emit("handled \(event.position)")
                    block(at: event.position)
                }
            }
            consumer.start()
            try await consumer.waitUntilProcessed(through: until, timeout: .seconds(60))
            await consumer.stop()
            emit("done \(try await consumer.status().checkpoint ?? 0)")
        }
    }
}
