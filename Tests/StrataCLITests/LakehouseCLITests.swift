import Foundation
import StrataTestSupport
import Testing

@Suite("strata export and import")
struct LakehouseCLITests {
    @Test("export writes gzip hour partitions once; import reads them into another store once")
    func exportImport() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let lines = (1...250).map { i in
            #"{"stream":"order-\#(i % 3)","type":"placed","data":{"n":\#(i)},"metadata":{"ts":"2026-01-15T1\#(i <= 100 ? 4 : 5):00:00Z","source":{"id":"do-1"}}}"#
        }.joined(separator: "\n")
        let appended = try await CLIProcess.run(["append", "ignored", "--store", dir.store], in: dir.url, stdin: lines)
        #expect(appended.status == 0, "\(appended)")
        let lake = dir.url.appendingPathComponent("lake").path
        let checkpoints = dir.url.appendingPathComponent("cp").path
        let arguments = ["export", "--store", dir.store, "--to", lake, "--source", "n1", "--gzip", "--checkpoints", checkpoints,
                         "--max-file-events", "60"]
        let export = try await CLIProcess.run(arguments, in: dir.url)
        #expect(export.status == 0, "\(export)")
        let summary = try jsonObject(try #require(export.lines.last))
        #expect((summary["events"] as? NSNumber)?.intValue == 250)
        #expect((summary["files"] as? NSNumber)?.intValue == 5)  // 60+40 in hour 14, 60+60+30 in hour 15
        #expect((summary["checkpoint"] as? NSNumber)?.intValue == 250)
        let hour14 = try FileManager.default.contentsOfDirectory(atPath: lake + "/events/2026/01/15/14").sorted()
        #expect(hour14 == ["n1_1.jsonl.gz", "n1_61.jsonl.gz"])

        let again = try await CLIProcess.run(arguments, in: dir.url)
        #expect((try jsonObject(try #require(again.lines.last))["events"] as? NSNumber)?.intValue == 0, "\(again)")

        let copy = "file:" + dir.url.appendingPathComponent("copy").path
        let imported = try await CLIProcess.run(["import", lake, "--store", copy], in: dir.url)
        #expect(imported.status == 0, "\(imported)")
        let result = try jsonObject(try #require(imported.lines.last))
        #expect((result["files"] as? NSNumber)?.intValue == 5)
        #expect((result["imported"] as? NSNumber)?.intValue == 250)
        let twice = try await CLIProcess.run(["import", lake, "--store", copy], in: dir.url)
        #expect((try jsonObject(try #require(twice.lines.last))["imported"] as? NSNumber)?.intValue == 0, "\(twice)")
        let read = try await CLIProcess.run(["read", "order-1", "--store", copy], in: dir.url)
        #expect(read.lines.count == 84, "\(read)")

        let usage = try await CLIProcess.run(["export", "--store", dir.store], in: dir.url)
        #expect(usage.status == 2, "\(usage)")

        // The checkpoint folder pointed at the copy: the same head (250), another store. It is
        // refused before anything is written, for the exporter and for the daily mirror alike.
        let wrong = try await CLIProcess.run(["export", "--store", copy, "--to", lake, "--source", "n1", "--gzip", "--checkpoints", checkpoints],
                                             in: dir.url)
        #expect(wrong.status == 1 && wrong.stderr.contains("was recorded for store"), "\(wrong)")
        let daily = dir.url.appendingPathComponent("daily").path
        let mirrored = try await CLIProcess.run(["export", "--daily", daily, "--store", dir.store], in: dir.url)
        #expect(mirrored.status == 0, "\(mirrored)")
        let dailyWrong = try await CLIProcess.run(["export", "--daily", daily, "--store", copy], in: dir.url)
        #expect(dailyWrong.status == 1 && dailyWrong.stderr.contains("was recorded for store"), "\(dailyWrong)")
    }
}
