// A child process for StrataEmitter's kill-and-restart test. Not a user tool.
//
//   StrataEmitterTestWriter --dir D --endpoint URL --count N --batch B
//     opens a LogEventStore in D (checkpoints in D/checkpoints), starts a shipper to URL with
//     batch size B, emits events until the outbox holds N (in chunks of 50, each flushed, printing
//     `emitted <outbox length>`), then flushes the shipper, prints `done <delivered events>` and
//     exits 0. Run again after a kill, it emits only what is missing and ships the rest.
//
// Lines are written with one write(2) each, so that a parent that kills the process has read
// every line the process printed.
import Foundation
import Strata
import StrataConsumers
import StrataEmitter
import StrataLog
#if canImport(Glibc)
import Glibc
#endif

func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes[done...].withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress!, $0.count) }
        if n < 0 { if errno == EINTR { continue }; exit(3) }
        done += n
    }
}

func argument(_ name: String) -> String? {
    let args = CommandLine.arguments
    guard let index = args.firstIndex(of: name), index + 1 < args.count else { return nil }
    return args[index + 1]
}

guard let dir = argument("--dir"), let endpoint = argument("--endpoint"),
      let count = argument("--count").flatMap(Int.init), let batch = argument("--batch").flatMap(Int.init) else {
    FileHandle.standardError.write(Data("usage: StrataEmitterTestWriter --dir D --endpoint URL --count N --batch B\n".utf8))
    exit(2)
}

do {
    let store = try LogEventStore(directory: dir, configuration: LogConfiguration(durability: .none))
    let checkpoints = try FileCheckpointStore(directory: dir + "/checkpoints")
    let shipper = try EventShipper(store: store, checkpoints: checkpoints,
                                   options: ShipperOptions(endpoint: endpoint, batchSize: batch, flushInterval: .milliseconds(20),
                                                           backoff: RetryPolicy(initialDelay: .milliseconds(5), maxDelay: .milliseconds(50))))
    let emitter = try await Emitter.open(store: store, options: EmitterOptions(source: SourceIdentity(id: "kill-test", worker: "\(getpid())")),
                                         shipper: shipper)
    shipper.start()
    var length = Int(try await store.streamInfo("outbox").lastRevision)
    while length < count {
        let chunk = min(50, count - length)
        for i in 0..<chunk { try emitter.emit(EmitterEvent(type: "tick", data: ["n": .integer(Int64(length + i))])) }
        try await emitter.flush()
        length += chunk
        say("emitted \(length)")
    }
    try await shipper.flush(timeout: .seconds(120))
    say("done \(shipper.status.deliveredEvents)")
    try await emitter.close()
    await shipper.stop()
    try await store.close()
    exit(0)
} catch {
    FileHandle.standardError.write(Data("StrataEmitterTestWriter: \(error)\n".utf8))
    exit(1)
}
