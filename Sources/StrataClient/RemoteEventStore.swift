import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Strata
import StrataJSONShapes
import Synchronization
import StrataJSON

/// An ``EventStore`` that is a Strata server: point an application at `http://host:port` and
/// keep the same code. Every operation is one or a few HTTP requests (docs/SERVER.md); events
/// travel byte-exact (`encoding=base64`), errors come back as the server's ``StrataError``,
/// and subscriptions work as on any store, waiting for appends with a long poll.
///
/// ```swift
/// let store = try RemoteEventStore(url: "http://127.0.0.1:2113", apiKey: "…")
/// try await store.append(to: "order-1", events: [EventData(type: "placed", json: "{}")])
/// try await store.close()
/// ```
public final class RemoteEventStore: MaintainableEventStore {
    /// The server's base URL, without a trailing slash.
    public let baseURL: String
    private let apiKey: String?
    private let client: HTTPClient
    private let closed = Mutex(false)
    private let closeSignal = CloseSignal()

    /// Most events the server returns per read; larger stream pages take several requests.
    static let serverPageLimit = 1_000
    /// How long one long poll of ``waitForAppends(after:)`` may wait on the server.
    static let longPollMilliseconds = 25_000

    /// Connects to a server (no request is made until the first operation).
    /// - Parameters:
    ///   - url: `http://host:port` or `https://host:port`.
    ///   - apiKey: sent as `Authorization: Bearer` when given.
    /// - Throws: ``StrataError/unknownStoreURL(_:)`` for a URL that is not http(s).
    public init(url: String, apiKey: String? = nil) throws {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        guard base.hasPrefix("http://") || base.hasPrefix("https://") else { throw StrataError.unknownStoreURL(url) }
        self.baseURL = base
        self.apiKey = apiKey
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 512)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(90))
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    // MARK: - EventStore

    public func append(_ requests: [AppendRequest], condition: AppendCondition?) async throws -> [AppendResult] {
        struct Results: Decodable { var results: [Result] }
        struct Result: Decodable { var stream: String; var firstRevision, lastRevision, firstPosition, lastPosition: UInt64 }
        let body = RemoteEventStore.appendBody(requests, condition: condition)
        let decoded: Results = try await request(.POST, "/append", body: body)
        return decoded.results.map {
            AppendResult(stream: $0.stream, firstRevision: $0.firstRevision, lastRevision: $0.lastRevision,
                         firstPosition: $0.firstPosition, lastPosition: $0.lastPosition)
        }
    }

    public func readStreamPage(_ stream: String, from origin: ReadOrigin, direction: ReadDirection, maxCount: Int) async throws -> StreamPage {
        try checkOpen()
        try Naming.validateReadableStreamName(stream)
        // `$all` is not a stream (the server's path names the `$all` read).
        if stream == Naming.allStream { throw StrataError.streamNotFound(stream) }
        var events: [RecordedEvent] = []
        var origin = origin
        while true {
            let want = max(0, maxCount - events.count)
            let page: Page = try await request(.GET, "/streams/\(RemoteEventStore.pathComponent(stream))", query: [
                ("from", RemoteEventStore.text(origin)), ("direction", direction == .forward ? "forward" : "backward"),
                ("limit", String(min(want, RemoteEventStore.serverPageLimit))), ("encoding", "base64"),
            ])
            events += try page.events.map(EventJSON.decodeExact)
            guard let next = page.next, events.count < maxCount else { return StreamPage(events: events, next: page.next) }
            origin = .at(next)
        }
    }

    public func readAllPage(from origin: ReadOrigin, direction: ReadDirection, filter: EventFilter, maxCount: Int) async throws -> AllPage {
        var query = [("from", RemoteEventStore.text(origin)), ("direction", direction == .forward ? "forward" : "backward"),
                     ("limit", String(max(0, min(maxCount, RemoteEventStore.serverPageLimit)))), ("encoding", "base64")]
        for prefix in filter.streamPrefixes { query.append(("prefix", prefix)) }
        for type in filter.eventTypes.sorted() { query.append(("type", type)) }
        let page: Page = try await request(.GET, "/streams/$all", query: query)
        return AllPage(events: try page.events.map(EventJSON.decodeExact), next: page.next, scannedThrough: page.scannedThrough ?? 0)
    }

    public func streamInfo(_ stream: String) async throws -> StreamInfo {
        try checkOpen()
        try Naming.validateReadableStreamName(stream)
        let info: Info = try await request(.GET, "/streams/\(RemoteEventStore.pathComponent(stream))/info", query: [("encoding", "base64")])
        return StreamInfo(stream: info.stream, exists: info.exists, lastRevision: info.lastRevision, eventCount: info.eventCount,
                          isDeleted: info.isDeleted, isTombstoned: info.isTombstoned, metadata: try info.metadata.streamMetadata())
    }

    public func listStreamsPage(prefix: String, after: String?, maxCount: Int) async throws -> [String] {
        struct Names: Decodable { var streams: [String] }
        var names: [String] = []
        var after = after
        while names.count < maxCount {
            let want = min(maxCount - names.count, RemoteEventStore.serverPageLimit)
            var query = [("prefix", prefix), ("limit", String(want))]
            if let after { query.append(("after", after)) }
            let page: Names = try await request(.GET, "/streams", query: query)
            names += page.streams
            if page.streams.count < want { break }
            after = page.streams.last
        }
        if maxCount <= 0 { try checkOpen() }
        return names
    }

    public func deleteStream(_ stream: String, expectedRevision: ExpectedRevision, mode: DeleteMode) async throws {
        try checkOpen()
        try Naming.validateReadableStreamName(stream)
        let _: Empty = try await request(.DELETE, "/streams/\(RemoteEventStore.pathComponent(stream))", query: [
            ("expectedRevision", expectedRevision.description), ("mode", mode == .soft ? "soft" : "tombstone"),
        ])
    }

    public func setStreamMetadata(_ stream: String, _ metadata: StreamMetadata) async throws {
        try checkOpen()
        try Naming.validateReadableStreamName(stream)
        var json = JSONWriter()
        json.beginObject()
        if let v = metadata.maxCount { json.key("maxCount"); json.number(v) }
        if let v = metadata.maxAge {
            json.key("maxAge")
            // NaN is not JSON: send it as a string so that the server reports the bad value.
            if v.isNaN { json.string("NaN") } else { json.number(v) }
        }
        if let v = metadata.truncateBefore { json.field("truncateBefore", v) }
        if let custom = metadata.custom { json.field("customBase64", custom.base64EncodedString()) }
        json.endObject()
        let _: Empty = try await request(.PUT, "/streams/\(RemoteEventStore.pathComponent(stream))/metadata", body: json.bytes)
    }

    /// Asks the server to scavenge its store (`POST /scavenge`, an admin key).
    public func scavenge() async throws -> ScavengeReport {
        try await request(.POST, "/scavenge", body: Array("{}".utf8))
    }

    /// Asks the server to erase a stream (`POST /streams/{stream}/erase`, an admin key).
    public func erase(_ stream: String, reason: String) async throws -> ErasureReport {
        try Erasure.validate(stream)
        var json = JSONWriter()
        json.beginObject()
        json.field("reason", reason)
        json.endObject()
        return try await request(.POST, "/streams/\(RemoteEventStore.pathComponent(stream))/erase", body: json.bytes)
    }

    public func headPosition() async throws -> UInt64 {
        let head: Head = try await request(.GET, "/head")
        return head.headPosition
    }

    /// The served store's identity (`GET /stats`): checkpoints kept by a client are bound to
    /// the store behind the server, whichever server instance answers.
    public func identity() async throws -> StoreIdentity {
        struct Stats: Decodable { var identity: String }
        let s: Stats = try await request(.GET, "/stats")
        return try StoreIdentity(s.identity)
    }

    public func stats() async throws -> StoreStats {
        struct Stats: Decodable {
            var headPosition, firstPosition: UInt64
            var streamCount: Int
            var bytesOnDisk: Int64
            var details: [String: String]
        }
        let s: Stats = try await request(.GET, "/stats")
        return StoreStats(headPosition: s.headPosition, firstPosition: s.firstPosition, streamCount: s.streamCount,
                          bytesOnDisk: s.bytesOnDisk, details: s.details)
    }

    public func waitForAppends(after position: UInt64) async throws {
        if closed.withLock({ $0 }) { return }
        let signal = closeSignal.stream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let _: Head = try await self.request(.GET, "/wait", query: [
                    ("after", String(position)), ("timeout", String(RemoteEventStore.longPollMilliseconds)),
                ])
            }
            group.addTask { for await _ in signal { break } }
            defer { group.cancelAll() }
            do {
                try await group.next()
            } catch StrataError.storeClosed {
                return
            }
        }
        if Task.isCancelled { throw CancellationError() }
    }

    public func close() async throws {
        let wasClosed = closed.withLock { closed in
            defer { closed = true }
            return closed
        }
        if wasClosed { return }
        closeSignal.trigger()
        try await client.shutdown()
    }

    // MARK: - HTTP

    private struct Empty: Decodable {}
    private struct Head: Decodable { var headPosition: UInt64 }
    private struct Page: Decodable {
        var events: [EventJSON.Exact]
        var next: UInt64?
        var scannedThrough: UInt64?
    }
    private struct Info: Decodable {
        var stream: String
        var exists: Bool
        var lastRevision: UInt64
        var eventCount: Int
        var isDeleted: Bool
        var isTombstoned: Bool
        var metadata: Metadata
    }
    private struct Metadata: Decodable {
        var maxCount: Int?
        var maxAge: Double?
        var truncateBefore: UInt64?
        var customBase64: String?

        func streamMetadata() throws -> StreamMetadata {
            var custom: Data?
            if let customBase64 {
                guard let bytes = Data(base64Encoded: customBase64) else { throw StrataError.invalidArgument("the server sent custom metadata that is not base64") }
                custom = bytes
            }
            return StreamMetadata(maxCount: maxCount, maxAge: maxAge, truncateBefore: truncateBefore, custom: custom)
        }
    }

    private func checkOpen() throws {
        if closed.withLock({ $0 }) { throw StrataError.storeClosed(reason: "the client was closed") }
    }

    /// Sends one request and decodes the JSON answer (`Empty` for 204); errors become
    /// ``StrataError`` (store errors, connection failures) or ``StrataClientError``.
    private func request<Answer: Decodable>(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [],
                                            body: [UInt8]? = nil) async throws -> Answer {
        try checkOpen()
        var url = baseURL + path
        if !query.isEmpty {
            url += "?" + query.map { "\(RemoteEventStore.queryComponent($0.0))=\(RemoteEventStore.queryComponent($0.1))" }.joined(separator: "&")
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let status: Int
        let bytes: ByteBuffer
        do {
            let response = try await client.execute(request, timeout: .seconds(90))
            status = Int(response.status.code)
            bytes = try await response.body.collect(upTo: 1 << 30)
        } catch {
            if Task.isCancelled { throw CancellationError() }
            try checkOpen()
            throw StrataError.io(path: url, operation: "\(method.rawValue) request", reason: "\(error)")
        }
        if status >= 400 {
            let data = Data(bytes.readableBytesView)
            guard let body = try? StrataJSONDecoder().decode(ErrorJSON.Body.self, from: data) else {
                throw StrataClientError(status: status, code: "http-\(status)", message: String(decoding: data, as: UTF8.self))
            }
            if let error = ErrorJSON.strataError(from: body) { throw error }
            throw StrataClientError(status: status, code: body.error.code, message: body.error.message)
        }
        if Answer.self == Empty.self { return Empty() as! Answer }
        do {
            return try StrataJSONDecoder().decode(Answer.self, from: Data(bytes.readableBytesView))
        } catch {
            throw StrataError.io(path: url, operation: "decode the answer", reason: "\(error)")
        }
    }

    static func text(_ origin: ReadOrigin) -> String {
        switch origin {
        case .start: "start"
        case .end: "end"
        case .at(let n): String(n)
        }
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// A stream name as one path segment (`$` kept, so that `$all` reads as itself).
    static func pathComponent(_ name: String) -> String {
        name.addingPercentEncoding(withAllowedCharacters: unreserved.union(CharacterSet(charactersIn: "$"))) ?? name
    }

    static func queryComponent(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// The `/append` body: byte-exact (base64) events, one request per stream, and the condition.
    static func appendBody(_ requests: [AppendRequest], condition: AppendCondition?) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.field("encoding", "base64")
        json.key("requests")
        json.beginArray()
        for request in requests {
            json.beginObject()
            json.field("stream", request.stream)
            json.field("expectedRevision", request.expectedRevision.description)
            json.key("events")
            json.beginArray()
            for event in request.events {
                json.beginObject()
                json.field("id", event.id.uuidString.lowercased())
                json.field("type", event.type)
                json.field("contentType", event.contentType.rawValue)
                json.field("data", event.data.base64EncodedString())
                json.key("metadata")
                if let metadata = event.metadata { json.string(metadata.base64EncodedString()) } else { json.null() }
                json.endObject()
            }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        if let condition {
            json.key("condition")
            json.beginObject()
            json.key("after")
            if let after = condition.after { json.number(after) } else { json.null() }
            json.key("query")
            json.beginArray()
            for item in condition.query.items {
                json.beginObject()
                json.key("types"); json.beginArray(); for t in item.types.sorted() { json.string(t) }; json.endArray()
                json.key("tags"); json.beginArray(); for t in item.tags.sorted() { json.string(t) }; json.endArray()
                json.endObject()
            }
            json.endArray()
            json.endObject()
        }
        json.endObject()
        return json.bytes
    }
}

/// Wakes waits in flight when the client closes.
final class CloseSignal: Sendable {
    private let state = Mutex<(closed: Bool, waiters: [UUID: AsyncStream<Void>.Continuation])>((false, [:]))

    func stream() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        let id = UUID()
        let closed = state.withLock { s in
            if !s.closed { s.waiters[id] = continuation }
            return s.closed
        }
        if closed { continuation.finish() } else {
            continuation.onTermination = { [weak self] _ in _ = self?.state.withLock { $0.waiters.removeValue(forKey: id) } }
        }
        return stream
    }

    func trigger() {
        let waiters = state.withLock { s in
            s.closed = true
            defer { s.waiters.removeAll() }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.finish() }
    }
}
