import ArgumentParser
import Foundation
import Strata
import StrataSchema
import StrataCommandLine
import StrataJSONShapes
import StrataJSON

/// `strata append`: one event from options, or many from JSON lines on stdin.
struct AppendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append one event, or JSON lines from stdin when --type is not given.",
        discussion: """
            With --type, appends one event and prints its result as one JSON line.
            Without --type, reads one JSON object per line from stdin:
              {"stream"?: "…", "type": "…", "data": JSON, "metadata"?: {…}, "id"?: "UUID"}
            and appends them in atomic batches of up to \(AppendCommand.batchSize) events, keeping the input order;
            STREAM is the stream of lines that name none. A bad line stops the command with its line
            number; nothing from its batch is stored (earlier batches are). One result line is printed
            per stream run of each batch.
            """
    )

    /// The most events one bulk append stores atomically.
    static let batchSize = 1000

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The stream to append to (the default stream of bulk lines).")
    var stream: String

    @Option(help: "The event type; without it, events are read from stdin.")
    var type: String?

    @Option(help: ArgumentHelp("The event data, a JSON value.", valueName: "JSON"))
    var data: String?

    @Option(help: ArgumentHelp("The event metadata, a JSON object.", valueName: "JSON"))
    var metadata: String?

    @Option(help: ArgumentHelp("The event id (the idempotency key); generated when absent.", valueName: "UUID"))
    var id: String?

    @Option(help: ArgumentHelp("N, any, no-stream or exists. In bulk mode it checks each stream's first batch; later batches expect exactly the revision the previous one wrote.", valueName: "revision"),
            transform: parseExpectedRevision)
    var expectedRevision: ExpectedRevision?

    @Option(help: ArgumentHelp("A folder of event configs (JSON schemas, as `strata codegen` reads them): events of a type no config declares, or whose data or metadata break its schema, are refused with exit 2 and nothing is stored.", valueName: "DIR"))
    var schemas: String?

    func validate() throws {
        if type == nil {
            if data != nil || metadata != nil || id != nil {
                throw ValidationError("--data, --metadata and --id need --type (without --type, events come from stdin)")
            }
        } else if data == nil {
            throw ValidationError("--data is required with --type")
        }
    }

    func run() async throws {
        let url = try global.storeURL()
        try Naming.validateStreamName(stream)
        // Loaded before the store opens: a bad config folder creates nothing.
        let checked = try schemas.map { try EventSchemaSet(folder: URL(fileURLWithPath: $0)) }
        let open: @Sendable () async throws -> any EventStore = {
            let store = try await url.open(.create)
            return checked.map { $0.validating(store) } ?? store
        }
        if let type {
            let event = try singleEvent(type: type)
            // Checked before the store opens too: a refused event creates nothing.
            if let checked { try checked.check(event) }
            let store = try await open()
            do {
                let result = try await store.append(to: stream, expectedRevision: expectedRevision ?? .any, event: event)
                StandardOutput.stdout.writeLine(EventJSON.encode(result))
            } catch {
                try? await store.close()
                throw error
            }
            try await store.close()
        } else {
            let store = LazyStore(open: open)
            do {
                try await appendLines(to: store)
            } catch {
                StandardOutput.stdout.flush()
                try? await store.close()
                throw error
            }
            try await store.close()
        }
        StandardOutput.stdout.flush()
    }

    private func singleEvent(type: String) throws -> EventData {
        guard let data, JSONSyntax.isValid(Data(data.utf8)) else {
            throw StrataError.invalidArgument("--data is not valid JSON")
        }
        var eventID = UUID()
        if let id {
            guard let parsed = UUID(uuidString: id) else { throw StrataError.invalidArgument("--id is not a UUID: \"\(id)\"") }
            eventID = parsed
        }
        let event = EventData(id: eventID, type: type, json: data, metadata: metadata)
        try AppendValidation.validate(event, limits: .default)
        return event
    }

    /// Reads JSON lines from stdin and appends them in batches, in input order.
    private func appendLines(to store: LazyStore) async throws {
        let limits = EventLimits.default
        if isatty(0) == 1 {
            StandardOutput.stderr.writeLine("reading JSON lines from stdin (end with Ctrl-D)", flushing: true)
        }
        var reader = LineReader(fd: 0, maxLineBytes: limits.maxEventSize * 2 + 64 * 1024)
        var batch = BulkBatch()
        var written: [String: UInt64] = [:]
        while true {
            let line: [UInt8]?
            do {
                line = try reader.next()
            } catch {
                throw CommandFailure.badInputLine(line: reader.lineNumber + 1, reason: error.description)
            }
            guard let line else { break }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            let parsed: BulkEventLine
            do {
                parsed = try BulkEventLine(line, limits: limits)
            } catch {
                throw CommandFailure.badInputLine(line: reader.lineNumber, reason: error.description)
            }
            let target = parsed.stream ?? stream
            if batch.count == AppendCommand.batchSize || batch.wouldRepeat(target) {
                try await flush(&batch, to: store, written: &written)
            }
            if batch.ids.contains(parsed.event.id) {
                throw CommandFailure.badInputLine(line: reader.lineNumber,
                                                  reason: "event id \(parsed.event.id) appears twice in one batch")
            }
            batch.add(parsed.event, to: target, line: reader.lineNumber) { expectation(for: target, written: written) }
        }
        try await flush(&batch, to: store, written: &written)
    }

    /// The expected revision of a stream's next request: the option for a stream's first one,
    /// then exactly what this command wrote last (so that no other writer can interleave).
    private func expectation(for stream: String, written: [String: UInt64]) -> ExpectedRevision {
        guard let expected = expectedRevision, expected != .any else { return .any }
        if let last = written[stream] { return .exact(last) }
        return expected
    }

    private func flush(_ batch: inout BulkBatch, to store: LazyStore, written: inout [String: UInt64]) async throws {
        guard batch.count > 0 else { return }
        let results: [AppendResult]
        let opened = try await store.opened()
        do {
            results = try await opened.append(batch.requests, condition: nil)
        } catch let error as StrataError {
            throw CommandFailure.batchFailed(firstLine: batch.firstLine, lastLine: batch.lastLine, error: error)
        }
        for result in results {
            written[result.stream] = result.lastRevision
            StandardOutput.stdout.writeLine(EventJSON.encode(result))
        }
        batch = BulkBatch()
    }
}

/// The events of one atomic bulk append: consecutive runs of lines, one request per stream.
struct BulkBatch {
    private(set) var requests: [AppendRequest] = []
    private(set) var count = 0
    private(set) var ids = Set<UUID>()
    private var streams = Set<String>()
    private(set) var firstLine = 0
    private(set) var lastLine = 0

    /// Whether adding an event to `stream` would need a second request for a stream already in
    /// the batch (an append names each stream once), which would reorder the input.
    func wouldRepeat(_ stream: String) -> Bool {
        requests.last?.stream != stream && streams.contains(stream)
    }

    mutating func add(_ event: EventData, to stream: String, line: Int, expected: () -> ExpectedRevision) {
        if requests.last?.stream == stream {
            requests[requests.count - 1].events.append(event)
        } else {
            requests.append(AppendRequest(stream: stream, expectedRevision: expected(), events: [event]))
            streams.insert(stream)
        }
        if count == 0 { firstLine = line }
        lastLine = line
        count += 1
        ids.insert(event.id)
    }
}

/// A store opened on first use, so that bulk input that fails before its first batch (or is
/// empty) creates nothing.
final class LazyStore {
    private let open: () async throws -> any EventStore
    private var store: (any EventStore)?

    /// - Parameter open: opens (and creates when missing) the store.
    init(open: @escaping () async throws -> any EventStore) { self.open = open }

    /// The store, opened (and created when missing) the first time.
    func opened() async throws -> any EventStore {
        if let store { return store }
        let opened = try await open()
        store = opened
        return opened
    }

    /// Closes the store if it was opened.
    func close() async throws {
        try await store?.close()
        store = nil
    }
}
