import Foundation
internal import StrataJSON

/// Limits every backend applies to appended events.
public struct EventLimits: Sendable, Hashable {
    /// The largest event (type + content type + metadata + data), in bytes. Default 4 MiB.
    public var maxEventSize: Int
    /// Creates limits.
    public init(maxEventSize: Int = 4 * 1024 * 1024) { self.maxEventSize = maxEventSize }
    /// The defaults.
    public static let `default` = EventLimits()
}

/// The rules for names, shared by every backend.
public enum Naming {
    /// The name of the stream of all events.
    public static let allStream = "$all"
    /// Longest stream name and event type, in UTF-8 bytes.
    public static let maxNameBytes = 255

    /// Checks a stream name an application may write to: 1–255 UTF-8 bytes, no control
    /// characters, not starting with `$` (reserved).
    public static func validateStreamName(_ name: String) throws {
        try validateReadableStreamName(name)
        if name.utf8.first == UInt8(ascii: "$") {
            throw StrataError.invalidStreamName(name, reason: "names starting with \"$\" are reserved")
        }
    }

    /// Checks a stream name for reading: the same rules, but `$`-names are allowed.
    public static func validateReadableStreamName(_ name: String) throws {
        if let reason = nameProblem(name) { throw StrataError.invalidStreamName(name, reason: reason) }
    }

    /// Checks an event type: 1–255 UTF-8 bytes, no control characters, NFC.
    public static func validateEventType(_ type: String) throws {
        if let reason = nameProblem(type) { throw StrataError.invalidEventType(type, reason: reason) }
    }

    /// What is wrong with a stream name or event type, if anything: the rules both share.
    static func nameProblem(_ name: String) -> String? {
        let count = name.utf8.count
        if count == 0 { return "it is empty" }
        if count > maxNameBytes { return "it is \(count) UTF-8 bytes; the limit is \(maxNameBytes)" }
        if containsControl(name) { return "it contains a control character" }
        if !isNFC(name) { return "it is not in Unicode normalization form C (NFC); normalize it first" }
        return nil
    }

    /// Names are identities compared byte for byte. Swift compares strings by canonical
    /// equivalence, so two names could be equal as strings yet differ on disk; requiring NFC
    /// makes string equality and byte equality the same thing. ASCII is always NFC.
    static func isNFC(_ s: String) -> Bool {
        if s.utf8.allSatisfy({ $0 < 0x80 }) { return true }
        return s.precomposedStringWithCanonicalMapping.utf8.elementsEqual(s.utf8)
    }

    static func containsControl(_ s: String) -> Bool {
        for b in s.utf8 where b < 0x20 || b == 0x7F { return true }
        // C1 controls (U+0080–U+009F) are encoded as C2 80 … C2 9F.
        var previous: UInt8 = 0
        for b in s.utf8 {
            if previous == 0xC2 && b >= 0x80 && b <= 0x9F { return true }
            previous = b
        }
        return false
    }
}

/// Checks a whole append before any backend touches its state. Every backend calls this, so
/// every backend rejects the same input with the same error.
public enum AppendValidation {
    /// Validates requests and their events; throws the first problem found.
    public static func validate(_ requests: [AppendRequest], limits: EventLimits) throws {
        if requests.isEmpty { throw StrataError.invalidAppend(reason: "no streams given") }
        var streams = Set<String>()
        var ids = UUIDMap(capacity: requests.count == 1 ? requests[0].events.count : 64)
        var lastType: String?
        for request in requests {
            try Naming.validateStreamName(request.stream)
            if !streams.insert(request.stream).inserted {
                throw StrataError.invalidAppend(reason: "stream \"\(request.stream)\" appears twice in one append")
            }
            if request.events.isEmpty {
                throw StrataError.invalidAppend(reason: "no events for stream \"\(request.stream)\"")
            }
            for event in request.events {
                // Batches usually repeat one type: check each distinct run once.
                if event.type != lastType {
                    try Naming.validateEventType(event.type)
                    lastType = event.type
                }
                try validateContent(event, limits: limits)
                if !ids.insert(event.id, value: 0) {
                    throw StrataError.invalidAppend(reason: "event id \(event.id) appears twice in one append")
                }
            }
        }
    }

    /// Validates one event.
    public static func validate(_ event: EventData, limits: EventLimits) throws {
        try Naming.validateEventType(event.type)
        try validateContent(event, limits: limits)
    }

    /// Validates an event's size, content type and metadata (not its type).
    static func validateContent(_ event: EventData, limits: EventLimits) throws {
        let size = event.encodedSize
        if size > limits.maxEventSize {
            throw StrataError.eventTooLarge(id: event.id.uuidString, size: size, limit: limits.maxEventSize)
        }
        let contentTypeBytes = event.contentType.rawValue.utf8.count
        if contentTypeBytes > Naming.maxNameBytes {
            throw StrataError.invalidEvent(id: event.id.uuidString, reason: "content type is \(contentTypeBytes) bytes; the limit is \(Naming.maxNameBytes)")
        }
        if let metadata = event.metadata, !metadata.isEmpty, !JSONSyntax.isObject(metadata) {
            throw StrataError.invalidEvent(id: event.id.uuidString, reason: "metadata must be a JSON object")
        }
    }
}
