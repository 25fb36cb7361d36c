import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import StrataTestSupport
import Testing

/// Schema validation switched on in `strata append` and `strata serve` (issue 19, valkyr):
/// `--schemas DIR` (and the configuration file's `schemasDirectory`).
@Suite("schema validation in the CLI and the server")
struct SchemaCLITests {
    /// A folder with one event config: `user:created` needs an `email` string.
    static func configs(in dir: TemporaryDirectory) throws -> String {
        let events = dir.url.appendingPathComponent("events")
        try FileManager.default.createDirectory(at: events, withIntermediateDirectories: true)
        try Data(#"{"event": {"type": "user:created", "data": {"email": {"type": "string"}}}}"#.utf8)
            .write(to: events.appendingPathComponent("user-created.json"))
        return events.path
    }

    @Test("strata append --schemas stores a valid event, refuses a bad one and an undeclared type with exit 2 and stores nothing of them")
    func append() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let events = try Self.configs(in: dir)
        let good = try await CLIProcess.run(["append", "user-1", "--store", dir.store, "--schemas", events,
                                             "--type", "user:created", "--data", #"{"email":"a@example.com"}"#], in: dir.url)
        #expect(good.status == 0, "\(good)")
        let bad = try await CLIProcess.run(["append", "user-1", "--store", dir.store, "--schemas", events,
                                            "--type", "user:created", "--data", #"{"email":42}"#], in: dir.url)
        #expect(bad.status == 2 && bad.stderr.contains("email"), "\(bad)")
        let undeclared = try await CLIProcess.run(["append", "user-1", "--store", dir.store, "--schemas", events,
                                                   "--type", "user:deleted", "--data", "{}"], in: dir.url)
        #expect(undeclared.status == 2, "\(undeclared)")
        let bulk = try await CLIProcess.run(["append", "user-2", "--store", dir.store, "--schemas", events], in: dir.url,
                                            stdin: #"{"type":"user:created","data":{"email":"b@example.com"}}"# + "\n" + #"{"type":"user:created","data":{}}"# + "\n")
        #expect(bulk.status == 2, "a bad line refuses its batch: \(bulk)")
        let read = try await CLIProcess.run(["read", "$all", "--store", dir.store], in: dir.url)
        #expect(read.lines.count == 1, "only the valid single event is stored: \(read)")
        let missing = try await CLIProcess.run(["append", "user-1", "--store", dir.store, "--schemas", dir.path + "/nowhere",
                                                "--type", "user:created", "--data", "{}"], in: dir.url)
        #expect(missing.status == 2, "\(missing)")
    }

    @Test("strata serve --schemas answers 422 schema-violation for a bad event and stores nothing; a valid one is stored")
    func serve() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let events = try Self.configs(in: dir)
        let strata = try #require(CLIProcess.executable)
        let server = try ChildProcess.start(strata, ["serve", "--store", "memory:", "--port", "0", "--schemas", events], directory: dir.path)
        let url = String(try await server.firstLine(startingWith: "listening ").dropFirst("listening ".count))
        func post(_ body: String) async throws -> Int {
            var request = URLRequest(url: URL(string: url + "/streams/user-1")!)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(body.utf8)
            let (_, response) = try await URLSession.shared.data(for: request)
            return (response as? HTTPURLResponse)?.statusCode ?? 0
        }
        #expect(try await post(#"{"events":[{"type":"user:created","data":{"email":42}}]}"#) == 422)
        #expect(try await post(#"{"events":[{"type":"user:renamed","data":{}}]}"#) == 400)
        #expect(try await post(#"{"events":[{"type":"user:created","data":{"email":"a@example.com"}}]}"#) == 200)
        let read = try await CLIProcess.run(["read", "$all", "--store", url], in: dir.url)
        #expect(read.lines.count == 1, "\(read)")
        try await server.stop(grace: .seconds(20))
    }
}

/// `strata import --from eventlog` (issue 19).
@Suite("strata import --from eventlog")
struct EventlogImportCLITests {
    @Test("imports the daily files into a stream, warns about a torn line with file and line, and a second run imports nothing")
    func importsEventlog() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.appending("data"), withIntermediateDirectories: true)
        try (#"{"type":"placed","n":1}"# + "\n" + #"{"type":"paid""# + "\n" + #"{"type":"shipped"}"# + "\n")
            .write(toFile: dir.appending("data/log-2024-03-09.txt"), atomically: true, encoding: .utf8)
        let store = "file:" + dir.appending("store")
        let arguments = ["import", "--from", "eventlog", "data", "--pattern", "log-%y-%m-%d.txt", "--stream", "orders", "--store", store]
        let first = try await CLIProcess.run(arguments, in: dir.url)
        #expect(first.status == 0 && first.lines == [#"{"files":1,"read":2,"imported":2,"skipped":1}"#], "\(first)")
        #expect(first.errorLines.count == 1 && first.errorLines[0].hasPrefix("warning: data/log-2024-03-09.txt:2: not JSON"), "\(first)")
        let read = try await CLIProcess.run(["read", "orders", "--store", store], in: dir.url)
        #expect(read.lines.count == 2 && read.stdout.contains(#""type":"shipped""#) && read.stdout.contains("2024030900000001"), "\(read)")
        let second = try await CLIProcess.run(arguments, in: dir.url)
        #expect(second.lines == [#"{"files":1,"read":2,"imported":0,"skipped":1}"#], "\(second)")
    }

    @Test("--from simple-event-sourcing imports a folder's chunks into the source's stream; a second run imports nothing")
    func importsSimpleEventSourcing() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.appending("carts"), withIntermediateDirectories: true)
        try (#"{"ts":1700000000000,"name":"a"}"# + "\n").write(toFile: dir.appending("carts/2.jsonl"), atomically: true, encoding: .utf8)
        try (#"{"ts":1690000000000,"name":"b"}"# + "\n" + "oops\n").write(toFile: dir.appending("carts/10.jsonl"), atomically: true, encoding: .utf8)
        let store = "file:" + dir.appending("store")
        let arguments = ["import", "--from", "simple-event-sourcing", "carts", "--store", store]
        let first = try await CLIProcess.run(arguments, in: dir.url)
        #expect(first.status == 0 && first.lines == [#"{"files":2,"read":2,"imported":2,"skipped":1}"#], "\(first)")
        #expect(first.errorLines.count == 1 && first.errorLines[0].hasPrefix("warning: carts/10.jsonl:2: not JSON"), "\(first)")
        let read = try await CLIProcess.run(["read", "carts", "--store", store], in: dir.url)
        #expect(read.lines.count == 2 && read.lines[0].contains(#""name":"a""#) && read.lines[1].contains("2023-07-22T04:26:40.000Z"), "\(read)")
        let second = try await CLIProcess.run(arguments, in: dir.url)
        #expect(second.lines == [#"{"files":2,"read":2,"imported":0,"skipped":1}"#], "\(second)")
        let wrong = try await CLIProcess.run(["import", "--from", "eventlog", "carts", "--source", "x", "--store", store], in: dir.url)
        #expect(wrong.status == 2, "\(wrong)")
        let notNATS = try await CLIProcess.run(["import", "--from", "eventbase", "carts", "--store", store], in: dir.url)
        #expect(notNATS.status == 2 && notNATS.stderr.contains("nats://"), "\(notNATS)")
    }

    @Test("strata export --daily writes today's file with every event once; a second run writes nothing new")
    func dailyMirror() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = "file:" + dir.appending("store")
        for n in 1...3 {
            #expect(try await CLIProcess.run(["append", "s", "--store", store, "--type", "t", "--data", #"{"n":\#(n)}"#], in: dir.url).status == 0)
        }
        let first = try await CLIProcess.run(["export", "--daily", "mirror", "--store", store], in: dir.url)
        #expect(first.status == 0 && first.stdout.contains(#""events":3,"position":3"#), "\(first)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.appending("mirror")).filter { $0.hasSuffix(".jsonl") }
        #expect(files.count == 1 && files[0].hasPrefix("events-"), "\(files)")
        let lines = try String(contentsOfFile: dir.appending("mirror/" + files[0]), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        let second = try await CLIProcess.run(["export", "--daily", "mirror", "--store", store], in: dir.url)
        #expect(second.status == 0 && second.stdout.contains(#""events":0,"position":3"#), "\(second)")
    }
}
