import Foundation
import Strata
import StrataConsumers
import StrataTestSupport
import Testing

@Suite("strata consumers")
struct ConsumersCommandTests {
    @Test("list shows checkpoint, head, lag and parked events; parked, skip and reset change them")
    func listParkedSkipReset() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for i in 1 ... 5 {
            let appended = try await CLIProcess.run(["append", "s", "--store", dir.store, "--type", "t", "--data", #"{"n":\#(i)}"#], in: dir.url)
            #expect(appended.status == 0, "\(appended)")
        }
        let folder = dir.url.appendingPathComponent("checkpoints").path
        let checkpoints = try FileCheckpointStore(directory: folder)
        try await checkpoints.resetCheckpoint(for: "mailer", to: 3)
        try await checkpoints.park(ParkedEvent(consumer: "mailer", position: 2, stream: "s", revision: 2, type: "t",
                                               error: "smtp down", attempts: 5))

        let list = try await CLIProcess.run(["consumers", "list", "--json", "--store", dir.store, "--checkpoints", folder], in: dir.url)
        #expect(list.status == 0, "\(list)")
        let row = try jsonObject(try #require(list.lines.first))
        #expect(row["consumer"] as? String == "mailer")
        #expect((row["checkpoint"] as? NSNumber)?.intValue == 3)
        #expect((row["head"] as? NSNumber)?.intValue == 5)
        #expect((row["lag"] as? NSNumber)?.intValue == 2)
        #expect((row["parked"] as? NSNumber)?.intValue == 1)
        #expect(row["lastError"] as? String == "smtp down")

        let parked = try await CLIProcess.run(["consumers", "parked", "mailer", "--checkpoints", folder], in: dir.url)
        #expect(parked.status == 0 && parked.lines.count == 1, "\(parked)")
        #expect((try jsonObject(parked.lines[0])["position"] as? NSNumber)?.intValue == 2)

        let skipMissing = try await CLIProcess.run(["consumers", "skip", "mailer", "4", "--checkpoints", folder], in: dir.url)
        #expect(skipMissing.status == 2, "\(skipMissing)")
        let skipZero = try await CLIProcess.run(["consumers", "skip", "mailer", "0", "--checkpoints", folder], in: dir.url)
        #expect(skipZero.status == 2, "\(skipZero)")
        let skip = try await CLIProcess.run(["consumers", "skip", "mailer", "2", "--checkpoints", folder], in: dir.url)
        #expect(skip.status == 0, "\(skip)")
        #expect(try await checkpoints.parked(consumer: "mailer", after: nil, limit: 10).isEmpty)

        let reset = try await CLIProcess.run(["consumers", "reset", "mailer", "--to", "0", "--checkpoints", folder], in: dir.url)
        #expect(reset.status == 0, "\(reset)")
        #expect(try checkpoints.loadCheckpoint("mailer") == nil)
    }
}
