import Foundation
import StrataTestSupport
import Synchronization
import Testing

/// The `strata` binary end to end, as a user runs it: real processes on temporary directories.
@Suite("strata CLI")
struct CLITests {
    static let eventKeys = ["position", "stream", "revision", "id", "type", "data", "metadata", "recordedAt"]

    @Test("append then read round-trips an event, printing exactly the documented keys in order")
    func appendThenRead() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let id = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
        let appended = try await CLIProcess.run(
            ["append", "order-1", "--store", dir.store, "--type", "placed", "--data", #"{"total": 42, "items": ["a"]}"#,
             "--metadata", #"{"tags":["vip"]}"#, "--id", id], in: dir.url)
        #expect(appended.status == 0, "\(appended)")
        let result = try jsonObject(try #require(appended.lines.first))
        #expect(appended.lines.count == 1)
        #expect(result["stream"] as? String == "order-1")
        #expect((result["firstPosition"] as? NSNumber)?.intValue == 1)
        #expect((result["lastRevision"] as? NSNumber)?.intValue == 1)

        let read = try await CLIProcess.run(["read", "order-1", "--store", dir.store], in: dir.url)
        #expect(read.status == 0, "\(read)")
        #expect(read.lines.count == 1)
        let line = try #require(read.lines.first)
        #expect(topLevelKeys(line) == CLITests.eventKeys)
        let event = try jsonObject(line)
        #expect((event["position"] as? NSNumber)?.intValue == 1)
        #expect(event["stream"] as? String == "order-1")
        #expect((event["revision"] as? NSNumber)?.intValue == 1)
        #expect(event["id"] as? String == id)
        #expect(event["type"] as? String == "placed")
        let data = try #require(event["data"] as? [String: Any], "data is embedded as JSON")
        #expect((data["total"] as? NSNumber)?.intValue == 42)
        #expect(data["items"] as? [String] == ["a"])
        let metadata = try #require(event["metadata"] as? [String: Any])
        #expect(metadata["tags"] as? [String] == ["vip"])
        let recordedAt = try #require(event["recordedAt"] as? String)
        #expect(recordedAt.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z/) != nil, "\(recordedAt)")
    }

    @Test("bulk JSON lines on stdin are appended in input order, STREAM being the default stream")
    func bulkAppend() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let input = """
            {"type":"created","data":{"n":1}}
            {"stream":"cart-2","type":"created","data":[1,2],"metadata":{"source":"import"}}

            {"type":"added","data":"text","id":"0f8fad5b-d9cb-469f-a165-70867728950e"}
            {"stream":"cart-2","type":"added","data":null}

            """
        let appended = try await CLIProcess.run(["append", "cart-1", "--store", dir.store], in: dir.url, stdin: input)
        #expect(appended.status == 0, "\(appended)")
        #expect(appended.lines.count == 4, "one result per stream run")
        let all = try await CLIProcess.run(["read", "$all", "--store", dir.store], in: dir.url)
        #expect(all.status == 0, "\(all)")
        let events = try all.lines.map(jsonObject)
        #expect(events.map { $0["stream"] as? String } == ["cart-1", "cart-2", "cart-1", "cart-2"])
        #expect(events.map { $0["type"] as? String } == ["created", "created", "added", "added"])
        #expect(events.map { ($0["position"] as? NSNumber)?.intValue } == [1, 2, 3, 4])
        #expect(events.map { ($0["revision"] as? NSNumber)?.intValue } == [1, 1, 2, 2])
        #expect(events[2]["id"] as? String == "0f8fad5b-d9cb-469f-a165-70867728950e")
        #expect(events[2]["data"] as? String == "text")
        #expect(events[3]["data"] is NSNull)
        #expect((events[1]["metadata"] as? [String: Any])?["source"] as? String == "import")
    }

    @Test("a bad bulk line names its line number and nothing from its batch is stored")
    func bulkBadLine() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let input = """
            {"type":"ok","data":{}}
            {"type":"ok","data":{}}
            {"type":"","data":{}}
            """
        let appended = try await CLIProcess.run(["append", "s", "--store", dir.store], in: dir.url, stdin: input)
        #expect(appended.status != 0)
        #expect(appended.errorLines.count == 1, "\(appended)")
        #expect(appended.stderr.hasPrefix("error: line 3:"), "\(appended)")
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("data").path),
                "a failure in the first batch leaves no store behind")

        let many = (1...1001).map { _ in #"{"type":"ok","data":{}}"# } + [#"{"type":"ok"}"#]
        let second = try await CLIProcess.run(["append", "s", "--store", dir.store], in: dir.url, stdin: many.joined(separator: "\n"))
        #expect(second.status == 2, "\(second)")
        #expect(second.errorLines == [#"error: line 1002: "data" is missing; nothing from its batch was stored"#])
        let read = try await CLIProcess.run(["read", "$all", "--store", dir.store], in: dir.url)
        #expect(read.status == 0, "\(read)")
        #expect(read.lines.count == 1000, "the first batch of 1000 was stored, the second not")

        let broken = try await CLIProcess.run(["append", "s", "--store", dir.store], in: dir.url,
                                              stdin: "{\"type\":\"ok\",\"data\":1}\n{\"type\":\"ok\",\"data\":\n")
        #expect(broken.status != 0)
        #expect(broken.errorLines == ["error: line 2: not a valid JSON object: unexpected end of input, expected a value at byte 20; nothing from its batch was stored"])
    }

    @Test("a stale expected revision exits non-zero with one line on stderr and stores nothing")
    func expectedRevisionConflict() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let first = try await CLIProcess.run(["append", "s", "--store", dir.store, "--type", "t", "--data", "{}",
                                              "--expected-revision", "no-stream"], in: dir.url)
        #expect(first.status == 0, "\(first)")
        let conflict = try await CLIProcess.run(["append", "s", "--store", dir.store, "--type", "t", "--data", "{}",
                                                 "--expected-revision", "5"], in: dir.url)
        #expect(conflict.status == 3, "\(conflict)")
        #expect(conflict.stdout.isEmpty)
        #expect(conflict.errorLines.count == 1)
        #expect(conflict.stderr.hasPrefix("error: wrong expected revision on stream \"s\": expected 5, actual 1"), "\(conflict)")
        let bulk = try await CLIProcess.run(["append", "s", "--store", dir.store, "--expected-revision", "no-stream"], in: dir.url,
                                            stdin: "{\"type\":\"t\",\"data\":1}\n")
        #expect(bulk.status == 3, "\(bulk)")
        #expect(bulk.errorLines.count == 1)
        let read = try await CLIProcess.run(["read", "s", "--store", dir.store], in: dir.url)
        #expect(read.lines.count == 1, "\(read)")
    }

    @Test("a conflict on a memory store fails the same way")
    func conflictInMemory() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let conflict = try await CLIProcess.run(["append", "s", "--store", "memory:", "--type", "t", "--data", "{}",
                                                 "--expected-revision", "exists"], in: dir.url)
        #expect(conflict.status == 3, "\(conflict)")
        #expect(conflict.errorLines.count == 1)
        #expect(conflict.stderr.hasPrefix("error: wrong expected revision"))
    }

    @Test("bad input fails with one line on stderr and a non-zero exit, storing nothing",
          arguments: [
              (["append", "$reserved", "--type", "t", "--data", "{}"], "error: invalid stream name"),
              (["append", "s", "--type", "", "--data", "{}"], "error: invalid event type"),
              (["append", "s", "--type", "t", "--data", "{not json"], "error: invalid argument: --data is not valid JSON"),
              (["append", "s", "--type", "t", "--data", "{}", "--metadata", "[1]"], "error: invalid event"),
              (["append", "s", "--type", "t", "--data", "{}", "--store", "bogus:x"], "error: unknown store URL"),
              (["read", "s", "--store", "./no-scheme"], "error: unknown store URL"),
              (["append", "s", "--type", "t"], "error: "),
          ])
    func badInput(arguments: [String], expected: String) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let hasStore = arguments.contains("--store")
        let outcome = try await CLIProcess.run(arguments + (hasStore ? [] : ["--store", dir.store]), in: dir.url)
        #expect(outcome.status != 0)
        #expect(outcome.errorLines.count == 1, "\(outcome)")
        #expect(outcome.stderr.hasPrefix(expected), "\(outcome)")
        #expect(outcome.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("data").path), "nothing was created")
    }

    @Test("bad input is refused the same way on a memory store",
          arguments: [
              (["append", "$reserved", "--type", "t", "--data", "{}"], "error: invalid stream name"),
              (["append", "s", "--type", "", "--data", "{}"], "error: invalid event type"),
          ])
    func badInputInMemory(arguments: [String], expected: String) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let outcome = try await CLIProcess.run(arguments + ["--store", "memory:"], in: dir.url)
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.errorLines.count == 1)
        #expect(outcome.stderr.hasPrefix(expected), "\(outcome)")
    }

    @Test("an unknown store URL is refused before anything is created")
    func unknownStoreURL() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let outcome = try await CLIProcess.run(["--store", "postgres-ish:somewhere", "init"], in: dir.url)
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.errorLines == ["error: unknown store URL \"postgres-ish:somewhere\": use file:PATH, memory:, or a backend URL this build supports"])
        let contents = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { !$0.hasPrefix(".") }
        #expect(contents.isEmpty)
    }

    @Test("read '$all' backward with a limit prints the newest events first")
    func readAllBackward() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let input = (1...5).map { #"{"stream":"s-\#($0 % 2)","type":"t\#($0)","data":{"n":\#($0)}}"# }.joined(separator: "\n")
        let appended = try await CLIProcess.run(["append", "s-0", "--store", dir.store], in: dir.url, stdin: input)
        #expect(appended.status == 0, "\(appended)")
        let read = try await CLIProcess.run(["read", "$all", "--backward", "--limit", "3", "--store", dir.store], in: dir.url)
        #expect(read.status == 0, "\(read)")
        let events = try read.lines.map(jsonObject)
        #expect(events.map { ($0["position"] as? NSNumber)?.intValue } == [5, 4, 3])
        #expect(events.map { $0["type"] as? String } == ["t5", "t4", "t3"])
        let from = try await CLIProcess.run(["read", "$all", "--backward", "--from", "2", "--store", dir.store], in: dir.url)
        #expect(try from.lines.map(jsonObject).map { ($0["position"] as? NSNumber)?.intValue } == [2, 1])
        let stream = try await CLIProcess.run(["read", "s-1", "--from", "2", "--limit", "1", "--store", dir.store], in: dir.url)
        let streamEvents = try stream.lines.map(jsonObject)
        #expect(streamEvents.map { ($0["revision"] as? NSNumber)?.intValue } == [2])
        #expect(streamEvents.map { $0["type"] as? String } == ["t3"])
    }

    @Test("reading a stream that does not exist, or a store that does not exist, fails with one line")
    func readMissing() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let noStore = try await CLIProcess.run(["read", "s", "--store", dir.store], in: dir.url)
        #expect(noStore.status == 1, "\(noStore)")
        #expect(noStore.errorLines.count == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("data").path), "read creates nothing")
        _ = try await CLIProcess.run(["init", "--store", dir.store], in: dir.url)
        let noStream = try await CLIProcess.run(["read", "nothing-here", "--store", dir.store], in: dir.url)
        #expect(noStream.status == 1, "\(noStream)")
        #expect(noStream.errorLines == ["error: stream \"nothing-here\" not found"])
    }

    @Test("tail catches up from a position and stops after --count events")
    func tailCatchUp() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let input = (1...3).map { #"{"type":"t\#($0)","data":\#($0)}"# }.joined(separator: "\n")
        _ = try await CLIProcess.run(["append", "s", "--store", dir.store], in: dir.url, stdin: input)
        let tail = try await CLIProcess.run(["tail", "--from", "2", "--count", "2", "--store", dir.store], in: dir.url, timeout: 20)
        #expect(tail.status == 0, "\(tail)")
        let events = try tail.lines.map(jsonObject)
        #expect(events.map { ($0["position"] as? NSNumber)?.intValue } == [2, 3])
        #expect(topLevelKeys(tail.lines[0]) == CLITests.eventKeys)
    }

    @Test("tail follows events that another process appends")
    func tailFollowsLive() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        _ = try await CLIProcess.run(["init", "--store", dir.store], in: dir.url)
        let finished = Mutex(false)
        let tailed = Task {
            defer { finished.withLock { $0 = true } }
            return try await CLIProcess.run(["tail", "s", "--count", "2", "--store", dir.store], in: dir.url, timeout: 60)
        }
        // The tail starts at the end, so appends must come after it has started (a cold process
        // on a loaded machine can take seconds): keep appending until it has seen two events and
        // stopped by itself, for at most 60 s.
        try await Wait.until("the tail to see two appends and stop", timeout: .seconds(60), interval: .milliseconds(200)) {
            if finished.withLock({ $0 }) { return true }
            let outcome = try await CLIProcess.run(["append", "s", "--store", dir.store, "--type", "t", "--data", "{}"], in: dir.url)
            #expect(outcome.status == 0, "\(outcome)")
            return false
        }
        let tail = try await tailed.value
        #expect(tail.status == 0, "\(tail)")
        #expect(tail.lines.count == 2)
        #expect(try tail.lines.map(jsonObject).allSatisfy { $0["stream"] as? String == "s" })
    }

    @Test("streams, stats and init report on the store")
    func streamsAndStats() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let created = try await CLIProcess.run(["init", "--store", dir.store], in: dir.url)
        #expect(created.status == 0, "\(created)")
        let input = ["b-2", "a-1", "b-1"].map { #"{"stream":"\#($0)","type":"t","data":{}}"# }.joined(separator: "\n")
        _ = try await CLIProcess.run(["append", "x", "--store", dir.store], in: dir.url, stdin: input)
        let streams = try await CLIProcess.run(["streams", "--store", dir.store], in: dir.url)
        #expect(streams.lines == ["a-1", "b-1", "b-2"])
        let prefixed = try await CLIProcess.run(["streams", "--prefix", "b-", "--store", dir.store], in: dir.url)
        #expect(prefixed.lines == ["b-1", "b-2"])
        let stats = try await CLIProcess.run(["stats", "--json", "--store", dir.store], in: dir.url)
        #expect(stats.status == 0, "\(stats)")
        let object = try jsonObject(try #require(stats.lines.first))
        #expect((object["headPosition"] as? NSNumber)?.intValue == 3)
        #expect((object["streamCount"] as? NSNumber)?.intValue == 3)
    }

    @Test("verify passes on an intact store and reports a flipped byte as path:offset: reason with exit 1")
    func verify() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let input = (1...20).map { #"{"type":"t","data":{"n":\#($0)}}"# }.joined(separator: "\n")
        _ = try await CLIProcess.run(["append", "s", "--store", dir.store], in: dir.url, stdin: input)
        let clean = try await CLIProcess.run(["verify", "--store", dir.store], in: dir.url)
        #expect(clean.status == 0, "\(clean)")
        #expect(clean.lines.count == 1)
        #expect(clean.stdout.hasPrefix("ok: "))

        let segments = dir.url.appendingPathComponent("data/segments")
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: segments.path).sorted().first)
        let segment = segments.appendingPathComponent(name)
        let handle = try FileHandle(forUpdating: segment)
        try handle.seek(toOffset: 300)
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: 300)
        try handle.write(contentsOf: Data([byte ^ 0xFF]))
        try handle.close()

        let damaged = try await CLIProcess.run(["verify", "--store", dir.store], in: dir.url)
        #expect(damaged.status == 1, "\(damaged)")
        #expect(!damaged.lines.isEmpty)
        for line in damaged.lines {
            #expect(line.wholeMatch(of: /.+\.seg:\d+: .+/) != nil, "\(line)")
        }
        #expect(damaged.errorLines.count == 1)
    }

    @Test("verify on a memory store is refused with one line")
    func verifyMemory() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let outcome = try await CLIProcess.run(["verify", "--store", "memory:"], in: dir.url)
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.errorLines.count == 1)
    }

    @Test("bench --json prints one JSON object with machine, command and results")
    func benchJSON() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let outcome = try await CLIProcess.run(
            ["bench", "--store", "memory:", "--quick", "--json", "--only", "append.batch1000.none", "--only", "subscribe",
             "--work-dir", dir.url.path], in: dir.url, timeout: 120)
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.lines.count == 1, "nothing but the JSON object on stdout")
        let report = try jsonObject(try #require(outcome.lines.first))
        #expect(topLevelKeys(outcome.lines[0]).prefix(3) == ["machine", "command", "results"])
        let machine = try #require(report["machine"] as? [String: Any])
        #expect((machine["cores"] as? NSNumber)?.intValue ?? 0 > 0)
        #expect(machine["kernel"] is String)
        #expect((report["command"] as? String)?.hasPrefix("strata bench") == true)
        let results = try #require(report["results"] as? [[String: Any]])
        #expect(results.map { $0["name"] as? String } == ["append.batch1000.none", "subscribe.latency.p50", "subscribe.latency.p99"])
        for result in results {
            #expect(((result["value"] as? NSNumber)?.doubleValue ?? 0) > 0)
            #expect(result["unit"] is String)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0.hasPrefix("strata-bench") }
        #expect(leftovers.isEmpty, "workload directories are removed")
    }

    @Test("bench --only with a prefix that matches nothing fails with one line")
    func benchUnknownPrefix() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let outcome = try await CLIProcess.run(["bench", "--store", "memory:", "--only", "nothing."], in: dir.url)
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.errorLines.count == 1, "\(outcome)")
    }

    @Test("strata bench runs strata-bench from beside strata: run directly it names itself; --store before bench is passed on; without it, one error line")
    func benchRunsStrataBench() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // Directly, `strata-bench` runs its store workloads (the default subcommand) and says so in the report.
        let direct = try await CLIProcess.run(["--store", "memory:", "--quick", "--json", "--only", "subscribe", "--work-dir", dir.path],
                                              in: dir.url, timeout: 120, program: "strata-bench")
        #expect(direct.status == 0, "\(direct)")
        let report = try jsonObject(try #require(direct.lines.first))
        #expect((report["command"] as? String)?.hasPrefix("strata-bench store --store memory:") == true, "\(report["command"] ?? "")")
        // Root options before `bench` reach strata-bench too.
        let before = try await CLIProcess.run(["--store", "memory:", "bench", "--only", "nothing."], in: dir.url)
        #expect(before.status == 2 && before.errorLines.count == 1, "\(before)")
        // A strata with no strata-bench beside it: one line naming what is missing, exit status 1.
        let strata = try #require(CLIProcess.executable)
        try FileManager.default.createDirectory(atPath: dir.appending("alone"), withIntermediateDirectories: true)
        let alone = dir.appending("alone/strata")
        do { try FileManager.default.linkItem(atPath: strata, toPath: alone) } catch { try FileManager.default.copyItem(atPath: strata, toPath: alone) }
        let missing = try await ChildProcess.run(alone, ["bench", "--store", "memory:", "--quick"], directory: dir.path)
        #expect(missing.status == 1, "\(missing)")
        #expect(missing.errorLines.count == 1 && missing.stderr.contains("strata-bench") && missing.stderr.contains("not installed"), "\(missing)")
    }
}
