import Foundation
import Strata
import StrataConsumers
import StrataEmitter

/// `emit`: an emitter and its shipper, resumable after a kill (main.swift).
struct EmitWorkload {
    let checkpoints: String
    let endpoint: String
    let count: Int
    let batch: Int

    init(_ arguments: ChildArguments) {
        arguments.allow(["checkpoints", "endpoint", "count", "batch"])
        checkpoints = arguments.required("checkpoints")
        endpoint = arguments.required("endpoint")
        count = arguments.requiredNumber("count")
        batch = max(1, arguments.requiredNumber("batch"))
    }

    func run(on store: any EventStore) async throws {
        let shipper = try EventShipper(store: store, checkpoints: try FileCheckpointStore(directory: checkpoints),
                                       options: ShipperOptions(endpoint: endpoint, batchSize: batch, flushInterval: .milliseconds(20),
                                                               backoff: RetryPolicy(initialDelay: .milliseconds(5), maxDelay: .milliseconds(50))))
        let emitter = try await Emitter.open(store: store, options: EmitterOptions(source: SourceIdentity(id: "kill-test", worker: "\(getpid())")),
                                             shipper: shipper)
        shipper.start()
        var length = Int(try await store.streamInfo("outbox").lastRevision)
        while length < count {
            let chunk = min(50, count - length)
            for i in 0..<chunk { try emitter.emit(EmitterEvent(type: "tick", data: ["n": .integer(Int64(length + i))])) }
            try await emitter.flush()
            length += chunk
            emit("emitted \(length)")
        }
        try await shipper.flush(timeout: .seconds(120))
        emit("done \(shipper.status.deliveredEvents)")
        try await emitter.close()
        await shipper.stop()
    }
}
