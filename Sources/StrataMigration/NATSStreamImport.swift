import Foundation
import Strata
import StrataJSON
import StrataNATS

/// Imports the messages of a NATS JetStream stream: `@markwylde/eventbase`'s event streams
/// (docs/MIGRATING.md, "eventbase"), or any other application's. The eventbase seed document
/// says its data lives in a JetStream stream named by `streamName`, one message per change, with
/// document keys base64-encoded in the subjects; it does not describe the subjects' other tokens
/// or the payload's fields. This importer therefore keeps every message exactly and interprets
/// only what is described:
///
/// - every message stored in the stream when the import starts, in stream sequence order (an
///   ordered consumer from sequence 1; messages published meanwhile wait for the next run);
/// - data: the payload's bytes exactly (`application/json` when it is valid JSON, else
///   `application/octet-stream`); type: the payload's `type` member when it is a JSON object with
///   a valid event type, else ``Options/defaultType``;
/// - id: ``NameBasedUUID`` of `{stream}:{sequence}` in ``namespace`` (a second import stores
///   nothing new);
/// - metadata: `{"nats":{"stream","seq","subject","time"},"ts":…}` with the server's storage
///   time (ISO 8601, UTC) as `time` and as the event time `ts`, plus `"key"` inside `nats` when
///   the subject's last token is base64 (standard or URL-safe, padded or not) of printable UTF-8
///   text: an eventbase document key.
///
/// The stream is only read (no consumer is left behind: an ordered consumer is ephemeral).
public struct NATSStreamImport: Sendable {
    /// The namespace of the ids this importer derives.
    public static let namespace = UUID(uuidString: "9e4d2b1a-7c3f-4e8a-b6d5-1f0a3c2e4b57")!

    /// What to import and where.
    public struct Options: Sendable {
        /// The Strata stream the messages go to; nil: the JetStream stream's name.
        public var stream: String?
        /// The type of a message whose payload names none.
        public var defaultType: String
        /// Events per atomic append.
        public var batchSize: Int

        /// Creates options.
        public init(stream: String? = nil, defaultType: String = "eventbase.message", batchSize: Int = 1000) {
            self.stream = stream
            self.defaultType = defaultType
            self.batchSize = batchSize
        }
    }

    /// What this importer reads and where it writes, as checked by `init`.
    public let options: Options

    /// Checks the options.
    /// - Throws: `StrataError.invalidArgument` for a batch size below 1, `invalidStreamName` or
    ///   `invalidEventType` for a bad stream or type.
    public init(options: Options = Options()) throws {
        try JSONLinesImport.checkBatchSize(options.batchSize)
        if let stream = options.stream { try Naming.validateStreamName(stream) }
        try Naming.validateEventType(options.defaultType)
        self.options = options
    }

    /// Imports the messages of the JetStream stream `source` into `store`.
    /// - Parameter onProgress: called after each batch with the summary so far and the last sequence.
    /// - Throws: `StrataError.io` when the stream cannot be read (a missing stream names it), the store's errors.
    public func run(source: String, from js: JetStream, into store: any EventStore,
                    onProgress: (@Sendable (SeedImportSummary, UInt64) -> Void)? = nil) async throws -> SeedImportSummary {
        let stream = options.stream ?? source
        try Naming.validateStreamName(stream)
        let last: UInt64
        do { last = try await js.streamInfo(source).state.lastSeq } catch let e as NATSError {
            throw StrataError.io(path: source, operation: "read the JetStream stream", reason: e.description)
        }
        var summary = SeedImportSummary()
        summary.files = 1
        guard last > 0 else { return summary }
        let consumer = js.orderedConsumer(stream: source, startSequence: 1, idleHeartbeat: .seconds(1))
        var batch: [EventData] = []
        func flush() async throws {
            guard !batch.isEmpty else { return }
            summary.imported += try await JSONLinesImport.append(batch, to: stream, in: store)
            summary.events += batch.count
            batch.removeAll(keepingCapacity: true)
        }
        do {
            for try await message in consumer {
                batch.append(event(message, source: source))
                if batch.count == options.batchSize {
                    try await flush()
                    onProgress?(summary, message.streamSequence)
                }
                if message.streamSequence >= last { break }
            }
            try await flush()
        } catch {
            await consumer.stop()
            if let e = error as? NATSError { throw StrataError.io(path: source, operation: "read the JetStream stream", reason: e.description) }
            throw error
        }
        await consumer.stop()
        onProgress?(summary, last)
        return summary
    }

    private func event(_ message: JetStreamMessage, source: String) -> EventData {
        let data = Data(message.payload.readableBytesView)
        let object = try? JSONValue(parsing: data)
        var type = options.defaultType
        if let object, case .object = object { type = JSONLinesImport.type(of: object, fallback: options.defaultType) }
        let time = message.timestampNanoseconds.map { UTCTime.iso8601($0 / 1000) }
        var metadata = JSONWriter()
        metadata.beginObject()
        metadata.key("nats")
        metadata.beginObject()
        metadata.field("stream", source)
        metadata.field("seq", message.streamSequence)
        metadata.field("subject", message.subject)
        if let time { metadata.field("time", time) }
        if let key = Self.subjectKey(message.subject) { metadata.field("key", key) }
        metadata.endObject()
        if let time { metadata.field("ts", time) }
        metadata.endObject()
        return EventData(id: NameBasedUUID.make(namespace: Self.namespace, name: "\(source):\(message.streamSequence)"), type: type,
                         data: data, contentType: object == nil ? .binary : .json, metadata: Data(metadata.bytes))
    }

    /// The text the subject's last token encodes in base64 (standard or URL-safe, padding
    /// optional), when it is printable UTF-8; nil otherwise.
    static func subjectKey(_ subject: String) -> String? {
        guard let token = subject.split(separator: ".").last, token.count >= 2 else { return nil }
        var text = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let bytes = Data(base64Encoded: text), !bytes.isEmpty, let key = String(data: bytes, encoding: .utf8),
              key.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else { return nil }
        return key
    }
}
