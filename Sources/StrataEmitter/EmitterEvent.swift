import Foundation
import Strata
import StrataJSONShapes
import StrataJSON

/// One event to emit: an id (the receiver's deduplication key), a type and a JSON object of data.
/// `ts` and the source identity are added by the ``Emitter``.
///
/// ```swift
/// try emitter.emit(EmitterEvent(type: "user.action", data: ["userId": "123", "action": "click"]))
/// try emitter.emit(.rpcCall(method: "sendMessage", namespace: "chat", durationMs: 12, success: true))
/// ```
public struct EmitterEvent: Sendable, Hashable {
    /// The event id; shipped as `id`, kept as the outbox event's id.
    public var id: UUID
    /// The event type, for example `user.registered` (1–255 UTF-8 bytes, no control characters).
    public var type: String
    /// The bytes of a JSON object.
    public var data: Data

    /// Creates an event from the bytes of a JSON object (checked by ``Emitter/emit(_:)``).
    public init(id: UUID = EventID.random(), type: String, data: Data) {
        self.id = id
        self.type = type
        self.data = data
    }

    /// Creates an event from a JSON object value.
    public init(id: UUID = EventID.random(), type: String, data: [String: JSONValue]) {
        let members = data.sorted { $0.key < $1.key }.map { JSONMember($0.key, $0.value) }
        self.init(id: id, type: type, data: Data(JSONValue.object(members).jsonText.utf8))
    }

    /// Creates an event from an `Encodable` value that encodes as a JSON object.
    public init<Payload: Encodable>(id: UUID = EventID.random(), type: String, encoding payload: Payload) throws {
        self.init(id: id, type: type, data: try StrataJSONEncoder().encode(payload))
    }
}

// MARK: - dotdo's event kinds

extension EmitterEvent {
    /// An RPC call (`rpc.call`): `method`, `namespace`, `durationMs`, `success`, `error`.
    public static func rpcCall(method: String, namespace: String? = nil, durationMs: Double, success: Bool,
                               error: String? = nil, id: UUID = EventID.random()) -> EmitterEvent {
        var out = JSONWriter()
        out.beginObject()
        out.field("method", method)
        if let namespace { out.field("namespace", namespace) }
        out.key("durationMs"); out.number(durationMs)
        out.key("success"); out.bool(success)
        if let error { out.field("error", error) }
        out.endObject()
        return EmitterEvent(id: id, type: "rpc.call", data: Data(out.bytes))
    }

    /// A lifecycle change of the source (`lifecycle.<kind>`, for example `lifecycle.start`,
    /// `lifecycle.hibernate`, `lifecycle.evict`) with its `reason`.
    public static func lifecycle(_ kind: String, reason: String? = nil, id: UUID = EventID.random()) -> EmitterEvent {
        var out = JSONWriter()
        out.beginObject()
        if let reason { out.field("reason", reason) }
        out.endObject()
        return EmitterEvent(id: id, type: "lifecycle.\(kind)", data: Data(out.bytes))
    }

    /// WebSocket activity (`ws.<kind>`: `ws.connect`, `ws.message`, `ws.close`, `ws.error`):
    /// `connectionCount`, and for a close its `code` and `reason`.
    public static func websocket(_ kind: String, connectionCount: Int, code: Int? = nil, reason: String? = nil,
                                 id: UUID = EventID.random()) -> EmitterEvent {
        var out = JSONWriter()
        out.beginObject()
        out.key("connectionCount"); out.number(connectionCount)
        if let code { out.key("code"); out.number(code) }
        if let reason { out.field("reason", reason) }
        out.endObject()
        return EmitterEvent(id: id, type: "ws.\(kind)", data: Data(out.bytes))
    }

    /// A page view from a client (`page`): `event` (the page name), `properties`, `userId`, `anonymousId`.
    public static func page(_ name: String? = nil, properties: [String: JSONValue] = [:], userId: String? = nil,
                            anonymousId: String? = nil, id: UUID = EventID.random()) -> EmitterEvent {
        client("page", event: name, properties: properties, traits: [:], userId: userId, anonymousId: anonymousId, id: id)
    }

    /// A tracked client action (`track`): `event`, `properties`, `userId`, `anonymousId`.
    public static func track(_ event: String, properties: [String: JSONValue] = [:], userId: String? = nil,
                             anonymousId: String? = nil, id: UUID = EventID.random()) -> EmitterEvent {
        client("track", event: event, properties: properties, traits: [:], userId: userId, anonymousId: anonymousId, id: id)
    }

    /// A client identifying a user (`identify`): `userId`, `traits`, `anonymousId`.
    public static func identify(userId: String?, traits: [String: JSONValue] = [:], anonymousId: String? = nil,
                                id: UUID = EventID.random()) -> EmitterEvent {
        client("identify", event: nil, properties: [:], traits: traits, userId: userId, anonymousId: anonymousId, id: id)
    }

    static func client(_ type: String, event: String?, properties: [String: JSONValue], traits: [String: JSONValue],
                       userId: String?, anonymousId: String?, id: UUID) -> EmitterEvent {
        var members: [JSONMember] = []
        if let event { members.append(JSONMember("event", .string(event))) }
        if !properties.isEmpty {
            members.append(JSONMember("properties", .object(properties.sorted { $0.key < $1.key }.map { JSONMember($0.key, $0.value) })))
        }
        if !traits.isEmpty {
            members.append(JSONMember("traits", .object(traits.sorted { $0.key < $1.key }.map { JSONMember($0.key, $0.value) })))
        }
        if let userId { members.append(JSONMember("userId", .string(userId))) }
        if let anonymousId { members.append(JSONMember("anonymousId", .string(anonymousId))) }
        return EmitterEvent(id: id, type: type, data: Data(JSONValue.object(members).jsonText.utf8))
    }
}
