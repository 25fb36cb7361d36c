import AsyncAlgorithms
import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import Strata
import StrataDocuments
import StrataJSON
import StrataJSONShapes

/// One thing to send on a live connection: event subscriptions over SSE and WebSocket, and
/// document change streams, all deliver these.
package enum LiveItem: Sendable {
    /// An event, a filtered-`$all` checkpoint or the caught-up marker of a subscription.
    case message(SubscriptionMessage)
    /// An `$all` event from the shared tail, with its SSE frame encoded once for all subscribers.
    case shared(LiveTail.Entry)
    /// A change of a document collection.
    case change(DocumentChange)
    /// A recorded CDC change (docs/CDC.md), resumed after by its bookmark.
    case cdc(CDCChange)
    case heartbeat
    case shutdown
}

/// How one live connection writes ``LiveItem``s: as Server-Sent Events or as WebSocket text
/// frames. Both carry the same resume id: the position for `$all`, the revision for a stream.
struct LiveEncoding: Sendable {
    /// Whether the subscription is to `$all` (ids are positions) or to one stream (revisions).
    var isAll: Bool
    /// How events are written.
    var style: EventJSON.Style

    /// The encoding of a document change stream.
    static let documents = LiveEncoding(isAll: true, style: .api)

    /// The id a client resumes after, for an event.
    func resumeID(_ event: RecordedEvent) -> UInt64 { isAll ? event.position : event.revision }

    private static func markerBody(_ key: String, _ n: UInt64) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.field(key, n)
        json.endObject()
        return json.bytes
    }

    // MARK: Server-Sent Events

    /// Sent first: how long a browser waits before reconnecting.
    static let sseOpening = ByteBuffer(string: "retry: 2000\n\n")
    static let sseHeartbeat = ByteBuffer(string: ": heartbeat\n\n")

    /// The SSE frame of an item; nil for ``LiveItem/shutdown``.
    func sse(_ item: LiveItem) -> ByteBuffer? {
        var out: [UInt8] = []
        switch item {
        case .message(.event(let event)):
            out.append(contentsOf: "id: \(resumeID(event))\ndata: ".utf8)
            out.append(contentsOf: EventJSON.encode(event, style: style))
        case .message(.checkpoint(let position)):
            out.append(contentsOf: "event: checkpoint\nid: \(position)\ndata: ".utf8)
            out.append(contentsOf: LiveEncoding.markerBody("position", position))
        case .message(.caughtUp(let n)):
            out.append(contentsOf: "event: caught-up\ndata: ".utf8)
            out.append(contentsOf: LiveEncoding.markerBody(isAll ? "position" : "revision", n))
        case .shared(let entry):
            if style == .api, let frame = entry.sseFrame { return frame }
            return sse(.message(.event(entry.event)))
        case .change(let change):
            out.append(contentsOf: "event: change\ndata: ".utf8)
            out.append(contentsOf: LiveEncoding.changeBody(change))
        case .cdc(let change):
            out.append(contentsOf: "id: \(change.bookmark)\ndata: ".utf8)
            out.append(contentsOf: change.json.jsonBytes)
        case .heartbeat: return LiveEncoding.sseHeartbeat
        case .shutdown: return nil
        }
        out.append(contentsOf: "\n\n".utf8)
        return ByteBuffer(bytes: out)
    }

    /// An SSE frame naming its event, for messages of one endpoint (`event: subscribed`).
    static func sse(event name: String, data: [UInt8]) -> ByteBuffer {
        ByteBuffer(bytes: Array("event: \(name)\ndata: ".utf8) + data + Array("\n\n".utf8))
    }

    static func sseError(_ error: APIError) -> ByteBuffer { sse(event: "error", data: error.body) }

    // MARK: WebSocket

    /// The WebSocket text frame of an item; nil for ``LiveItem/shutdown``.
    func webSocketText(_ item: LiveItem) -> String? {
        var json = JSONWriter()
        json.beginObject()
        func write(_ event: RecordedEvent) {
            json.field("kind", "event")
            json.field("id", String(resumeID(event)))
            json.key("event")
            EventJSON.write(event, style: style, into: &json)
        }
        switch item {
        case .message(.event(let event)): write(event)
        case .shared(let entry): write(entry.event)
        case .message(.checkpoint(let position)):
            json.field("kind", "checkpoint")
            json.field("id", String(position))
            json.field("position", position)
        case .message(.caughtUp(let n)):
            json.field("kind", "caught-up")
            json.field(isAll ? "position" : "revision", n)
        case .change(let change):
            json.field("kind", "change")
            json.key("change")
            json.rawJSON(Data(LiveEncoding.changeBody(change)))
        case .cdc(let change):
            json.field("kind", "cdc")
            json.field("id", String(change.bookmark))
            json.key("change")
            json.rawJSON(Data(change.json.jsonBytes))
        case .heartbeat:
            json.field("kind", "heartbeat")
        case .shutdown:
            return nil
        }
        json.endObject()
        return String(decoding: json.bytes, as: UTF8.self)
    }

    static func webSocketError(_ error: APIError) -> String {
        var out = Array(#"{"kind":"error","error":"#.utf8)
        // The error body is {"error":{…}}: embed its inner object.
        let body = error.body
        out.append(contentsOf: body[9..<(body.count - 1)])
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// `{"key", "data", "meta", "event": {"type", "oldData", "timestamp"}, "matches"}`.
    static func changeBody(_ change: DocumentChange) -> [UInt8] {
        var event: [String: DocumentValue] = ["type": .string(change.event.type.rawValue), "timestamp": .string(change.event.timestamp)]
        event["oldData"] = change.event.oldData ?? .null
        let body: DocumentValue = .object([
            "key": .string(change.key),
            "data": change.data ?? .null,
            "meta": change.meta?.json ?? .null,
            "event": .object(event),
            "matches": .bool(change.matches),
        ])
        return body.jsonBytes
    }
}

/// The one way a live connection is served: a source of ``LiveItem``s (with heartbeats and the
/// server's shutdown merged in), written in the connection's ``LiveEncoding``, counted in the
/// metrics, holding one of the principal's subscriber slots while it lasts; a store error ends
/// it with an error message.
enum LiveDelivery {
    /// Items of `source` merged with heartbeats and the shutdown signal. Merging keeps the
    /// source pull-based: it reads its next page only when this is iterated.
    static func merged<Source: AsyncSequence & Sendable>(_ source: Source, state: ServerState)
        -> some AsyncSequence<LiveItem, any Error> & Sendable where Source.Element == LiveItem {
        merge(
            source.map { $0 },
            AsyncTimerSequence(interval: state.heartbeat, clock: .continuous).map { _ in LiveItem.heartbeat },
            state.shutdown.stream().map { LiveItem.shutdown }
        )
    }

    /// Hands every item of `items` to `send` until shutdown or the end of the items.
    static func forward(_ items: some AsyncSequence<LiveItem, any Error>, _ send: (LiveItem) async throws -> Void) async throws {
        for try await item in items {
            if case .shutdown = item { return }
            try await send(item)
        }
    }

    /// An SSE response: the opening, `prelude` (once the source is ready), then what `pump`
    /// sends, until it returns. The principal's subscriber slot, reserved by the caller, is
    /// released (and `cleanup` run) when the response ends.
    static func sse(state: ServerState, principal: Principal, encoding: LiveEncoding, prelude: [ByteBuffer] = [],
                    cleanup: @escaping @Sendable () -> Void = {},
                    pump: @escaping @Sendable (_ send: (LiveItem) async throws -> Void) async throws -> Void) -> Response {
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer {
                cleanup()
                state.releaseSubscriber(principal)
            }
            try await writer.write(LiveEncoding.sseOpening)
            for frame in prelude { try await writer.write(frame) }
            do {
                try await pump { item in
                    countDelivered(item, state)
                    if let frame = encoding.sse(item) { try await writer.write(frame) }
                }
            } catch let error as StrataError {
                try await writer.write(LiveEncoding.sseError(APIError(error)))
            }
            try await writer.finish(nil)
        })
    }

    /// A WebSocket connection: what `pump` sends, as text frames, until it returns or the client
    /// closes its side; then the connection closes. The principal's subscriber slot, reserved by
    /// the caller, is released when it ends.
    static func webSocket(state: ServerState, principal: Principal, encoding: LiveEncoding,
                          inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
                          pump: @escaping @Sendable (_ send: (LiveItem) async throws -> Void) async throws -> Void) async {
        defer { state.releaseSubscriber(principal) }
        await withTaskGroup(of: Void.self) { group in
            // The client closing its side ends the subscription.
            group.addTask {
                do { for try await _ in inbound {} } catch {}
            }
            group.addTask {
                do {
                    try await pump { item in
                        countDelivered(item, state)
                        if let text = encoding.webSocketText(item) { try await outbound.write(.text(text)) }
                    }
                } catch let error as StrataError {
                    try? await outbound.write(.text(LiveEncoding.webSocketError(APIError(error))))
                } catch {}
                try? await outbound.close(.normalClosure, reason: nil)
            }
            await group.next()
            group.cancelAll()
        }
    }

    private static func countDelivered(_ item: LiveItem, _ state: ServerState) {
        switch item {
        case .message(.event(let event)): state.metrics.delivered(position: event.position)
        case .shared(let entry): state.metrics.delivered(position: entry.event.position)
        default: break
        }
    }
}
