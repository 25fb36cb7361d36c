// A child process for StrataPostgres's multi-process tests. Not a user tool.
//
//   StrataPostgresTestWriter run --url URL --schema S [--prefix P --appends N --batch B] [--expect T]
//     opens the store at URL in schema S; with --expect, subscribes to $all from the start and
//     prints `caughtUp <position>` once and `event <position> <stream> <revision> <id>` per event;
//     with --prefix, appends N batches of B events to streams P-0…P-3 and prints
//     `ack <firstPosition> <lastPosition> <stream> <lastRevision> <id-of-last-event>` after each;
//     exits 0 once every append is acknowledged and T events were seen.
//
// Every line is written with one write(2) on stdout, unbuffered, so that a parent that kills
// the process has read every line the process printed.
import Foundation
import Strata
import StrataPostgres
#if canImport(Glibc)
import Glibc
#endif

/// Writes one line to stdout at once.
func emit(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    var done = 0
    bytes.withUnsafeBytes { raw in
        while done < raw.count {
            let n = write(STDOUT_FILENO, raw.baseAddress! + done, raw.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                exit(3) // the parent went away
            }
            done += n
        }
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("StrataPostgresTestWriter: " + message + "\n").utf8))
    exit(1)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.first == "run" else { fail("usage: StrataPostgresTestWriter run --url URL --schema S …") }
let options: [String: String] = {
    var options: [String: String] = [:]
    var index = 1
    while index < arguments.count {
        let key = arguments[index]
        guard key.hasPrefix("--"), index + 1 < arguments.count else { fail("bad argument \(key)") }
        options[String(key.dropFirst(2))] = arguments[index + 1]
        index += 2
    }
    return options
}()
func number(_ name: String, _ fallback: Int) -> Int {
    guard let text = options[name] else { return fallback }
    guard let n = Int(text), n >= 0 else { fail("--\(name) needs a non-negative integer, got \(text)") }
    return n
}
guard let url = options["url"], let schema = options["schema"] else { fail("--url and --schema are required") }
let prefix = options["prefix"]
let appends = number("appends", 0), batch = max(1, number("batch", 5)), expected = number("expect", 0)

do {
    var configuration = try PostgresConfiguration(url: url)
    configuration.schema = schema
    configuration.maximumConnections = 4
    let store = try await PostgresEventStore(configuration: configuration)
    try await withThrowingTaskGroup(of: Void.self) { group in
        if expected > 0 {
            group.addTask {
                var seen = 0
                for try await message in store.subscribeToAll(from: .start) {
                    switch message {
                    case .caughtUp(let position):
                        emit("caughtUp \(position)")
                    case .event(let event):
                        emit("event \(event.position) \(event.stream) \(event.revision) \(event.id.uuidString)")
                        seen += 1
                        if seen == expected { return }
                    case .checkpoint:
                        break
                    }
                }
            }
        }
        if let prefix {
            group.addTask {
                for n in 0..<appends {
                    let stream = "\(prefix)-\(n % 4)"
                    let events = (0..<batch).map { i in
                        EventData(type: "test-event", json: #"{"writer":"\#(prefix)","seq":\#(n * batch + i)}"#)
                    }
                    let result = try await store.append(to: stream, events: events)
                    emit("ack \(result.firstPosition) \(result.lastPosition) \(stream) \(result.lastRevision) \(events.last!.id.uuidString)")
                }
            }
        }
        try await group.waitForAll()
    }
    try await store.close()
} catch {
    fail("\(error)")
}
