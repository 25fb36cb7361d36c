import Foundation
import Strata
import StrataJSON

/// The operations reported to a stats stream.
public enum DocumentOperation: String, Sendable, Hashable {
    /// `get`.
    case get = "GET"
    /// `put`, `insert`, `putMany`, `patch`.
    case put = "PUT"
    /// `delete`.
    case delete = "DELETE"
    /// `keys(matching:)` and `keys(glob:)`.
    case keys = "KEYS"
    /// `query` and `count`.
    case query = "QUERY"
    /// `subscribe`.
    case subscribe = "SUBSCRIBE"
    /// One change delivered to a subscription.
    case subscribeEmit = "SUBSCRIBE_EMIT"
}

/// Appends one `document.stats` event per operation to a stats stream, off the caller's path:
/// operations enqueue (at most 100,000 waiting; beyond, the oldest are dropped), a background
/// task appends them in order (payload version 1):
/// `{"v":1,"operation":"GET","collection":"users","id":"u1","resultCount":1,"timestamp":"…","durationMs":0.012}`
/// (`id` for GET/PUT/DELETE/SUBSCRIBE_EMIT, `pattern` for KEYS, `query` for QUERY and SUBSCRIBE).
final class StatsRecorder: Sendable {
    static let eventType = "document.stats"
    let stream: String
    private let continuation: AsyncStream<EventData>.Continuation
    private let task: Task<Void, Never>

    init(store: any EventStore, stream: String) throws {
        try Naming.validateStreamName(stream)
        self.stream = stream
        let (events, continuation) = AsyncStream<EventData>.makeStream(bufferingPolicy: .bufferingNewest(100_000))
        self.continuation = continuation
        task = Task {
            // Best effort: a failing append drops that stats event rather than failing the operation.
            for await event in events { _ = try? await store.append(to: stream, events: [event]) }
        }
    }

    func record(_ operation: DocumentOperation, collection: String, subjectField: String, subject: String,
                resultCount: Int, started: ContinuousClock.Instant?) {
        let elapsed = started.map { ContinuousClock.now - $0 } ?? .zero
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        let payload: DocumentValue = [
            "v": 1, "operation": .string(operation.rawValue), "collection": .string(collection),
            subjectField: .string(subject), "resultCount": .int(Int64(resultCount)),
            "timestamp": .string(UTCTime.iso8601(currentMicroseconds(), fractionDigits: 3)), "durationMs": .double(ms),
        ]
        continuation.yield(EventData(type: Self.eventType, data: Data(payload.jsonBytes)))
    }

    /// Appends what is queued, then stops.
    func finish() async {
        continuation.finish()
        await task.value
    }
}
