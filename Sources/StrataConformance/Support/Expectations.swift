import Foundation
import Strata
import Testing

/// The case of a ``StrataError`` without its payload, for checks whose payload holds a
/// human-readable reason.
enum ErrorKind: String, Sendable {
    case invalidEventType, invalidStreamName, eventTooLarge, invalidEvent, invalidAppend, wrongExpectedRevision
    case eventIdReused, appendConditionFailed, streamNotFound, streamTombstoned, unknownStoreURL, unsupportedFormat
    case corruption, io, storeClosed, invalidArgument, unsupported, eventDecodingFailed, timedOut, schemaViolation
    case checkpointAheadOfStore, checkpointOfAnotherStore
}

extension StrataError {
    var kind: ErrorKind {
        switch self {
        case .invalidEventType: .invalidEventType
        case .invalidStreamName: .invalidStreamName
        case .eventTooLarge: .eventTooLarge
        case .invalidEvent: .invalidEvent
        case .invalidAppend: .invalidAppend
        case .wrongExpectedRevision: .wrongExpectedRevision
        case .eventIdReused: .eventIdReused
        case .appendConditionFailed: .appendConditionFailed
        case .streamNotFound: .streamNotFound
        case .streamTombstoned: .streamTombstoned
        case .unknownStoreURL: .unknownStoreURL
        case .unsupportedFormat: .unsupportedFormat
        case .corruption: .corruption
        case .io: .io
        case .storeClosed: .storeClosed
        case .invalidArgument: .invalidArgument
        case .unsupported: .unsupported
        case .eventDecodingFailed: .eventDecodingFailed
        case .timedOut: .timedOut
        case .schemaViolation: .schemaViolation
        case .checkpointAheadOfStore: .checkpointAheadOfStore
        case .checkpointOfAnotherStore: .checkpointOfAnotherStore
        }
    }
}

/// Runs `body` and returns the ``StrataError`` it throws; records an issue when it returns
/// normally or throws something else.
@discardableResult
func expectThrows<T>(_ kind: ErrorKind, _ what: @autoclosure () -> String = "",
                     sourceLocation: SourceLocation = #_sourceLocation,
                     _ body: () async throws -> T) async -> StrataError? {
    do {
        let value = try await body()
        Issue.record("\(what()) expected \(kind) but it succeeded with \(value)", sourceLocation: sourceLocation)
        return nil
    } catch let error as StrataError {
        if error.kind != kind {
            Issue.record("\(what()) expected \(kind) but got \(error.kind): \(error)", sourceLocation: sourceLocation)
        }
        return error
    } catch {
        Issue.record("\(what()) expected StrataError.\(kind) but got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Runs `body` and expects exactly `expected` (payload included).
func expectThrows<T>(_ expected: StrataError, _ what: @autoclosure () -> String = "",
                     sourceLocation: SourceLocation = #_sourceLocation,
                     _ body: () async throws -> T) async {
    let error = await expectThrows(expected.kind, what(), sourceLocation: sourceLocation, body)
    if let error, error.kind == expected.kind, error != expected {
        Issue.record("\(what()) expected \(expected) but got \(error)", sourceLocation: sourceLocation)
    }
}

/// What "nothing was stored" compares: the head and the state of the named streams.
struct StoreSnapshot: Equatable, CustomStringConvertible {
    var head: UInt64
    var streams: [StreamInfo]
    var allEvents: Int

    var description: String { "head \(head), \(allEvents) events in $all, streams \(streams)" }
}

func snapshot(_ store: any EventStore, streams: [String]) async throws -> StoreSnapshot {
    var infos: [StreamInfo] = []
    for stream in streams { infos.append(try await store.streamInfo(stream)) }
    return StoreSnapshot(head: try await store.headPosition(), streams: infos,
                         allEvents: try await store.readAll().collect().count)
}

/// Runs a failing operation and checks both the error's case and that nothing changed in the
/// store (head, `$all`, the named streams).
@discardableResult
func expectRejected<T>(_ store: any EventStore, _ kind: ErrorKind, streams: [String], _ what: String = "",
                       sourceLocation: SourceLocation = #_sourceLocation,
                       _ body: () async throws -> T) async throws -> StrataError? {
    let before = try await snapshot(store, streams: streams)
    let error = await expectThrows(kind, what, sourceLocation: sourceLocation, body)
    let after = try await snapshot(store, streams: streams)
    #expect(after == before, "\(what) a rejected operation changed the store", sourceLocation: sourceLocation)
    return error
}

/// An event with a small JSON payload.
func sample(_ type: String = "noted", _ n: Int = 0, tags: [String] = [], id: UUID = UUID()) -> EventData {
    EventData(id: id, type: type, data: Data(#"{"n":\#(n)}"#.utf8),
              metadata: tags.isEmpty ? nil : EventData.metadata(tags: tags))
}

/// `count` small events of one type, numbered from `from`.
func samples(_ count: Int, type: String = "noted", from: Int = 1) -> [EventData] {
    (0..<count).map { sample(type, from + $0) }
}

/// The positions of events, for short comparisons.
func positions(_ events: [RecordedEvent]) -> [UInt64] { events.map(\.position) }
/// The revisions of events.
func revisions(_ events: [RecordedEvent]) -> [UInt64] { events.map(\.revision) }

/// Collects a stream read; the stream must exist.
func readStream(_ store: any EventStore, _ stream: String, from origin: ReadOrigin = .start,
                direction: ReadDirection = .forward, limit: Int? = nil) async throws -> [RecordedEvent] {
    try await store.readStream(stream, from: origin, direction: direction, limit: limit).collect()
}

/// Collects an `$all` read.
func readAll(_ store: any EventStore, from origin: ReadOrigin = .start, direction: ReadDirection = .forward,
             filter: EventFilter = EventFilter(), limit: Int? = nil) async throws -> [RecordedEvent] {
    try await store.readAll(from: origin, direction: direction, filter: filter, limit: limit).collect()
}

extension Array {
    /// The elements at 1-based numbers, for "revisions 4, 5" style expectations.
    func numbered(_ numbers: [Int]) -> [Element] { numbers.map { self[$0 - 1] } }
}
