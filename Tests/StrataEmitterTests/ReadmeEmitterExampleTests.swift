import Foundation
import Strata
import StrataConsumers
import StrataEmitter
import StrataLog
import StrataTestSupport
import Testing

@Suite("README: the emitter section")
struct ReadmeEmitterExampleTests {
    @Test("the README's emitter example runs as written")
    func readmeExample() async throws {
        let receiver = try await Receiver()
        let dir = TemporaryDirectory.freshPath("readme")
        defer { TemporaryDirectory.remove(dir) }
        // From README.md, "Emitting events: a durable outbox and a shipper" (paths and port adapted).
        let outbox = try LogEventStore(directory: dir)
        let shipper = try EventShipper(store: outbox, checkpoints: try FileCheckpointStore(directory: dir + "/checkpoints"),
                                       options: ShipperOptions(endpoint: receiver.url, apiKey: "secret"))
        let emitter = try await Emitter.open(store: outbox, options: EmitterOptions(source: SourceIdentity(id: "orders-1", class: "OrderService")),
                                             shipper: shipper)
        shipper.start()
        try emitter.emit(.track("signup", properties: ["plan": "pro"], userId: "u1"))   // returns at once
        try emitter.emit(.rpcCall(method: "placeOrder", durationMs: 12, success: true))
        try await emitter.flush()    // in the outbox, on disk
        try await shipper.flush()    // delivered: POST {"events":[…]} in batches

        #expect(receiver.accepted.flatMap { $0.events.compactMap { $0["type"] as? String } } == ["track", "rpc.call"])
        #expect(receiver.accepted.first?.authorization == "Bearer secret")
        await shipper.stop()
        try await emitter.close()
        try await outbox.close()
        await receiver.stop()
    }
}
