import NIOCore
import Strata
import StrataWire

/// How live messages are written: as Server-Sent Events, or as WebSocket text frames. Both
/// carry the same resume id: the position for `$all`, the revision for a stream.
enum LiveFrames {
    /// The id a client resumes after, for an event.
    static func resumeID(_ event: RecordedEvent, isAll: Bool) -> UInt64 { isAll ? event.position : event.revision }

    static func caughtUpBody(_ n: UInt64, isAll: Bool) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.field(isAll ? "position" : "revision", n)
        json.endObject()
        return json.bytes
    }

    // MARK: - SSE

    /// Sent first: how long a browser waits before reconnecting.
    static let sseOpening = ByteBuffer(string: "retry: 2000\n\n")
    static let sseHeartbeat = ByteBuffer(string: ": heartbeat\n\n")

    static func sse(_ message: SubscriptionMessage, isAll: Bool, style: EventJSON.Style) -> ByteBuffer {
        var out: [UInt8] = []
        switch message {
        case .event(let event):
            out.append(contentsOf: "id: \(resumeID(event, isAll: isAll))\ndata: ".utf8)
            out.append(contentsOf: EventJSON.encode(event, style: style))
        case .checkpoint(let position):
            out.append(contentsOf: "event: checkpoint\nid: \(position)\ndata: ".utf8)
            out.append(contentsOf: caughtUpBody(position, isAll: true))
        case .caughtUp(let n):
            out.append(contentsOf: "event: caught-up\ndata: ".utf8)
            out.append(contentsOf: caughtUpBody(n, isAll: isAll))
        }
        out.append(contentsOf: "\n\n".utf8)
        return ByteBuffer(bytes: out)
    }

    static func sseError(_ error: APIError) -> ByteBuffer {
        var out = Array("event: error\ndata: ".utf8)
        out.append(contentsOf: error.body)
        out.append(contentsOf: "\n\n".utf8)
        return ByteBuffer(bytes: out)
    }

    // MARK: - WebSocket

    static func frame(_ message: SubscriptionMessage, isAll: Bool, style: EventJSON.Style) -> String {
        var json = JSONWriter()
        json.beginObject()
        switch message {
        case .event(let event):
            json.field("kind", "event")
            json.field("id", String(resumeID(event, isAll: isAll)))
            json.key("event")
            EventJSON.write(event, style: style, into: &json)
        case .checkpoint(let position):
            json.field("kind", "checkpoint")
            json.field("id", String(position))
            json.field("position", position)
        case .caughtUp(let n):
            json.field("kind", "caught-up")
            json.field(isAll ? "position" : "revision", n)
        }
        json.endObject()
        return String(decoding: json.bytes, as: UTF8.self)
    }

    static let heartbeatFrame = #"{"kind":"heartbeat"}"#

    static func errorFrame(_ error: APIError) -> String {
        var out = Array(#"{"kind":"error","error":"#.utf8)
        // The error body is {"error":{…}}: embed its inner object.
        let body = error.body
        out.append(contentsOf: body[9..<(body.count - 1)])
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}
