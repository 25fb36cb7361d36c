import Foundation
import StrataTestSupport
import Testing

/// `--store sqlite:PATH`: the same commands on one SQLite database file.
@Suite("strata CLI on sqlite: stores")
struct SQLiteCLITests {
    @Test("init, append, read, streams and stats work on a sqlite: store, and tail follows another process's appends")
    func commands() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = "sqlite:" + dir.url.appendingPathComponent("db/events.db").path
        let missing = try await CLIProcess.run(["read", "s", "--store", store], in: dir.url)
        #expect(missing.status == 1 && missing.stderr.contains("no store at"), "\(missing)")
        let created = try await CLIProcess.run(["init", "--store", store], in: dir.url)
        #expect(created.status == 0 && created.lines.first?.hasPrefix("created store at") == true, "\(created)")

        async let tailed = CLIProcess.run(["tail", "$all", "--from", "1", "--count", "3", "--store", store], in: dir.url, timeout: 30)
        let one = try await CLIProcess.run(["append", "s", "--type", "t", "--data", #"{"n":1}"#, "--store", store], in: dir.url)
        #expect(one.status == 0, "\(one)")
        let bulk = try await CLIProcess.run(["append", "s", "--store", store], in: dir.url,
                                            stdin: #"{"type":"u","data":[2]}"# + "\n" + #"{"stream":"r","type":"v","data":null}"# + "\n")
        #expect(bulk.status == 0, "\(bulk)")
        let conflict = try await CLIProcess.run(["append", "s", "--type", "t", "--data", "{}", "--expected-revision", "1", "--store", store],
                                                in: dir.url)
        #expect(conflict.status == 3, "\(conflict)")

        let read = try await CLIProcess.run(["read", "s", "--store", store], in: dir.url)
        #expect(try read.lines.map(jsonObject).map { $0["type"] as? String } == ["t", "u"])
        let streams = try await CLIProcess.run(["streams", "--store", store], in: dir.url)
        #expect(streams.lines == ["r", "s"])
        let stats = try await CLIProcess.run(["stats", "--json", "--store", store], in: dir.url)
        let object = try jsonObject(try #require(stats.lines.first))
        #expect((object["headPosition"] as? NSNumber)?.intValue == 3)
        let tail = try await tailed
        #expect(tail.status == 0, "\(tail)")
        #expect(try tail.lines.map(jsonObject).map { ($0["position"] as? NSNumber)?.intValue } == [1, 2, 3])
    }

    @Test("a sqlite: URL without a file name is refused")
    func badURL() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for url in ["sqlite:", "sqlite://", "sqlite:./dir/"] {
            let outcome = try await CLIProcess.run(["init", "--store", url], in: dir.url)
            #expect(outcome.status == 2 && outcome.stderr.contains("unknown store URL"), "\(url): \(outcome)")
        }
    }

    @Test("bench --store sqlite: measures the SQLite backend next to raw SQLite and removes its files")
    func bench() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let outcome = try await CLIProcess.run(
            ["bench", "--store", "sqlite:unused.db", "--quick", "--json", "--only", "append.batch1.fsync", "--only", "sqlite.append.batch1.fsync",
             "--work-dir", dir.url.path], in: dir.url, timeout: 120)
        #expect(outcome.status == 0, "\(outcome)")
        let report = try jsonObject(try #require(outcome.lines.first))
        let machine = try #require(report["machine"] as? [String: Any])
        #expect(machine["backend"] as? String == "sqlite")
        let results = try #require(report["results"] as? [[String: Any]])
        #expect(results.map { $0["name"] as? String } == ["append.batch1.fsync", "sqlite.append.batch1.fsync"])
        #expect(results.allSatisfy { ((($0["value"] as? NSNumber)?.doubleValue) ?? 0) > 0 })
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0.hasPrefix("strata-bench") }
        #expect(leftovers.isEmpty, "workload directories are removed")
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("unused.db").path))
    }
}
