// A child process for StrataSQLite's multi-process tests. Not a user tool.
//
//   StrataSQLiteTestWriter append-follow --db PATH --out FILE --prefix P --events N --total T
//                                        [--batch B] [--seed S] [--synchronous off|normal|full]
//     subscribes to $all from the start and, at the same time, appends N events in appends of
//     1…B events to streams P-0…P-3. Writes to FILE `ack <firstPosition> <lastPosition> <stream>
//     <lastRevision>` per acknowledged append and `event <position> <stream> <revision> <id>` per
//     event the subscription delivered; exits 0 once the subscription delivered T events (the
//     total every process appends) and the store closed cleanly, 1 on any error.
import Foundation
import Strata
import StrataSQLite

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("StrataSQLiteTestWriter: " + message + "\n").utf8))
    exit(1)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.first == "append-follow" else { fail("usage: StrataSQLiteTestWriter append-follow --db PATH --out FILE …") }
let options: [String: String] = {
    var options: [String: String] = [:]
    var index = 1
    while index < arguments.count {
        guard arguments[index].hasPrefix("--"), index + 1 < arguments.count else { fail("bad argument \(arguments[index])") }
        options[String(arguments[index].dropFirst(2))] = arguments[index + 1]
        index += 2
    }
    return options
}()

func option(_ name: String) -> String {
    guard let value = options[name] else { fail("--\(name) is required") }
    return value
}

func number(_ name: String, default value: Int? = nil) -> Int {
    guard let text = options[name] ?? value.map(String.init) else { fail("--\(name) is required") }
    guard let n = Int(text), n >= 0 else { fail("--\(name) needs a non-negative integer, got \(text)") }
    return n
}

let path = option("db")
let prefix = option("prefix")
let eventCount = number("events")
let total = number("total")
let batch = max(1, number("batch", default: 5))
guard let synchronous = SQLiteConfiguration.Synchronous(rawValue: options["synchronous"] ?? "normal") else {
    fail("--synchronous must be off, normal or full")
}
guard FileManager.default.createFile(atPath: option("out"), contents: nil),
      let out = FileHandle(forWritingAtPath: option("out")) else { fail("cannot create \(option("out"))") }

/// Lines are collected and written at the end: the parent reads the file after the exit.
final class Lines: @unchecked Sendable {
    // Safe to share: `lines` is only touched under `lock`.
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ line: String) { lock.withLock { lines.append(line) } }
    var text: String { lock.withLock { lines.joined(separator: "\n") + "\n" } }
}
let lines = Lines()

do {
    let store = try SQLiteEventStore(path: path, configuration: SQLiteConfiguration(synchronous: synchronous))
    let follower = Task {
        var seen = 0
        guard total > 0 else { return }
        for try await event in store.subscribeToAll(from: .start).events {
            lines.add("event \(event.position) \(event.stream) \(event.revision) \(event.id.uuidString)")
            seen += 1
            if seen == total { return }
        }
        throw StrataError.invalidArgument("the subscription ended after \(seen) of \(total) events")
    }
    var rng = SplitMix64(seed: UInt64(number("seed", default: Int(getpid()))))
    var appended = 0
    while appended < eventCount {
        let size = min(eventCount - appended, Int.random(in: 1...batch, using: &rng))
        let stream = "\(prefix)-\(Int.random(in: 0..<4, using: &rng))"
        let events = (0..<size).map { i in EventData(type: "test-event", json: #"{"writer":"\#(prefix)","seq":\#(appended + i)}"#) }
        let result = try await store.append(to: stream, events: events)
        lines.add("ack \(result.firstPosition) \(result.lastPosition) \(stream) \(result.lastRevision)")
        appended += size
    }
    try await follower.value
    try await store.close()
    out.write(Data(lines.text.utf8))
    try out.close()
} catch {
    out.write(Data(lines.text.utf8))
    fail("\(error)")
}
