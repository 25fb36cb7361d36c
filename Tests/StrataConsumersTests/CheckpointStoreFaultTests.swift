import Foundation
import Strata
import StrataConsumers
import StrataStorage
import Testing

/// The file checkpoint store on a simulated disk (issue 14): what it saved survives a power
/// loss, and a failed save is a typed error that leaves the old checkpoint or the new one.
@Suite("file checkpoints on a simulated disk")
struct CheckpointStoreFaultTests {
    static let directory = "/sim/checkpoints"

    @Test("a saved checkpoint and parked event survive a power loss; a failed save leaves the old or the new checkpoint")
    func powerLossAndFailedSave() async throws {
        for mode in SimulatedDisk.LossMode.allCases {
            let disk = SimulatedDisk(seed: 11)
            var store = try FileCheckpointStore(directory: Self.directory, fileSystem: disk.fileSystem())
            try await store.commit(consumer: "projector/a", through: 42) { _ in }
            try await store.park(ParkedEvent(consumer: "projector/a", position: 7, stream: "s", revision: 3, type: "t",
                                             error: "boom", attempts: 3))
            disk.powerLoss(mode)
            store = try FileCheckpointStore(directory: Self.directory, fileSystem: disk.fileSystem())
            #expect(try await store.checkpoint(for: "projector/a") == 42, "\(mode)")
            #expect(try await store.parked(consumer: "projector/a", after: nil, limit: 10).map(\.position) == [7], "\(mode)")
            #expect(try store.consumers() == ["projector/a"])

            // Each operation a save performs fails once in turn: a typed error, and after a power
            // loss the checkpoint is 42 or 50, never missing or damaged.
            for operation in [SimulatedDisk.Fault.Operation.open, .write, .sync, .rename, .syncDirectory] {
                disk.inject(.init(operation, .ioError))
                do {
                    try await store.commit(consumer: "projector/a", through: 50) { _ in }
                } catch StrataError.io(let path, _, let reason) {
                    #expect(path.hasPrefix(Self.directory), "\(path)")
                    #expect(reason.contains("errno 5"), "\(reason)")
                }
                disk.clearFaults()
                disk.powerLoss(mode)
                store = try FileCheckpointStore(directory: Self.directory, fileSystem: disk.fileSystem())
                let checkpoint = try await store.checkpoint(for: "projector/a")
                #expect(checkpoint == 42 || checkpoint == 50, "\(mode), \(operation): \(String(describing: checkpoint))")
                try await store.resetCheckpoint(for: "projector/a", to: 42)
            }
        }
    }
}
