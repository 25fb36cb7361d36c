// A child process for StrataLog's crash, multi-process and follow tests. Not a user tool.
//
//   StrataTestWriter append --dir D --durability fsync|none --stream-prefix P
//                           [--batch N] [--count N] [--segment-size BYTES] [--seed N] [--compress true]
//                           [--retention-bytes N]
//     appends batches of 1…N events to streams P-0…P-7 and, after each acknowledged append,
//     prints `ack <firstPosition> <lastPosition> <stream> <lastRevision> <id-of-last-event>`;
//     runs until killed or until --count appends are done, then closes the store.
//   StrataTestWriter follow --dir D --count N
//     subscribes to $all from the start, prints `caughtUp <position>` once it is live and
//     `event <position> <stream> <revision>` per event; exits 0 after N events.
//   StrataTestWriter consume --dir D --variant state|checkpoint --path P --batch N --until N
//     runs a consumer (a StateFileConsumer whose snapshot file is P, or a CheckpointedConsumer
//     over a FileCheckpointStore in folder P), prints `handled <position>` for each event its
//     handler sees, and `done <position>` then exits 0 once it has processed position --until.
//     The state variant exits 4 if an event arrives out of order or twice.
//
// Every line is written with one write(2) on stdout, unbuffered, so that a parent that kills
// the process has read every line the process printed.
import Foundation
import Strata
import StrataConsumers
import StrataLog
#if canImport(Glibc)
import Glibc
#endif

/// Writes one line to stdout at once (no buffering: the process may be killed right after).
func emit(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    var done = 0
    bytes.withUnsafeMutableBytes { raw in
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
    FileHandle.standardError.write(Data(("StrataTestWriter: " + message + "\n").utf8))
    exit(1)
}


let arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first else { fail("usage: StrataTestWriter append|follow --dir D …") }
let options: [String: String] = {
    var options: [String: String] = [:]
    var i = 1
    while i < arguments.count {
        let key = arguments[i]
        guard key.hasPrefix("--"), i + 1 < arguments.count else { fail("bad argument \(key)") }
        options[String(key.dropFirst(2))] = arguments[i + 1]
        i += 2
    }
    return options
}()
guard let directory = options["dir"] else { fail("--dir is required") }

func intOption(_ name: String, default value: Int?, in options: [String: String] = options) -> Int? {
    guard let text = options[name] else { return value }
    guard let n = Int(text), n >= 0 else { fail("--\(name) needs a non-negative integer, got \(text)") }
    return n
}

var configuration = LogConfiguration()
if let size = intOption("segment-size", default: nil) { configuration.segmentSize = size }
configuration.compressSealedSegments = options["compress"] == "true"
if let bytes = intOption("retention-bytes", default: nil) { configuration.retention = LogRetention(maxBytes: Int64(bytes)) }
switch options["durability"] ?? "fsync" {
case "fsync": configuration.durability = .fsync
case "none": configuration.durability = .none
case let other: fail("--durability must be fsync or none, got \(other)")
}

do {
    let store = try LogEventStore(directory: directory, configuration: configuration)
    switch command {
    case "append":
        guard let prefix = options["stream-prefix"] else { fail("--stream-prefix is required") }
        let batch = max(1, intOption("batch", default: 5)!)
        let count = intOption("count", default: nil)
        var rng = SplitMix64(seed: UInt64(intOption("seed", default: Int(getpid()))!))
        var sequence = 0
        var done = 0
        while count.map({ done < $0 }) ?? true {
            let stream = "\(prefix)-\(Int.random(in: 0..<8, using: &rng))"
            let events = (0..<Int.random(in: 1...batch, using: &rng)).map { _ in
                sequence += 1
                return EventData(type: "test-event", json: #"{"writer":"\#(prefix)","seq":\#(sequence)}"#)
            }
            let result = try await store.append(to: stream, events: events)
            emit("ack \(result.firstPosition) \(result.lastPosition) \(stream) \(result.lastRevision) \(events.last!.id.uuidString)")
            done += 1
        }
    case "follow":
        guard let count = intOption("count", default: nil) else { fail("--count is required") }
        var seen = 0
        if count > 0 {
            loop: for try await message in store.subscribeToAll(from: .start) {
                switch message {
                case .caughtUp(let position):
                    emit("caughtUp \(position)")
                case .event(let event):
                    emit("event \(event.position) \(event.stream) \(event.revision)")
                    seen += 1
                    if seen == count { break loop }
                case .checkpoint:
                    break
                }
            }
        }
    case "consume":
        guard let path = options["path"], let until = intOption("until", default: nil) else { fail("--path and --until are required") }
        let consumerOptions = ConsumerOptions(batchSize: max(1, intOption("batch", default: 50)!), retry: .none, parkFailures: false)
        switch options["variant"] {
        case "state":
            struct Tally: Codable, Sendable { var count = 0; var last: UInt64 = 0 }
            let consumer = try StateFileConsumer(snapshotFile: path, store: store, options: consumerOptions, defaultState: Tally()) { tally, event in
                emit("handled \(event.position)")
                if event.position != tally.last + 1 {
                    emit("out-of-order \(event.position) after \(tally.last)")
                    exit(4)
                }
                tally.last = event.position
                tally.count += 1
            }
            consumer.start()
            try await consumer.waitUntilProcessed(through: UInt64(until), timeout: .seconds(60))
            await consumer.stop()
            emit("done \(consumer.state.last) \(consumer.state.count)")
        case "checkpoint":
            let consumer = CheckpointedConsumer(name: "killed", store: store, checkpoints: try FileCheckpointStore(directory: path),
                                                options: consumerOptions) { events, _ in
                for event in events { emit("handled \(event.position)") }
            }
            consumer.start()
            try await consumer.waitUntilProcessed(through: UInt64(until), timeout: .seconds(60))
            await consumer.stop()
            emit("done \(try await consumer.status().checkpoint ?? 0)")
        default:
            fail("--variant must be state or checkpoint")
        }
    default:
        fail("unknown command \(command)")
    }
    try await store.close()
} catch {
    fail("\(error)")
}
