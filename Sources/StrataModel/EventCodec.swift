import Foundation
import Strata
import StrataJSON

/// Turns stored events into typed events and back: the registry, the upcasters and the JSON
/// coder in one value, shared by reducers, aggregates and projectors.
public struct EventCodec: Sendable {
    /// The registered event types (for ``AnyDomainEvent``).
    public var registry: EventRegistry
    private var upcasters: [UpcasterKey: Upcaster] = [:]
    private var upcastTypes: Set<String> = []

    private struct UpcasterKey: Hashable {
        var type: String
        var version: Int
    }

    /// Creates a codec.
    /// - Precondition: no two upcasters share a type and a from-version.
    public init(registry: EventRegistry = EventRegistry(), upcasters: [Upcaster] = []) {
        self.registry = registry
        for upcaster in upcasters { add(upcaster) }
    }

    /// Adds an upcaster.
    public mutating func add(_ upcaster: Upcaster) {
        let key = UpcasterKey(type: upcaster.type, version: upcaster.fromVersion)
        precondition(upcasters[key] == nil, "two upcasters for \(upcaster.type) version \(upcaster.fromVersion)")
        upcasters[key] = upcaster
        upcastTypes.insert(upcaster.type)
    }

    // MARK: Reading

    /// Decodes a stored event as `Event`, upcasting older versions first; `nil` when its type is
    /// not part of `Event`.
    /// - Throws: `StrataError.eventDecodingFailed(position:type:field:reason:)` naming the
    ///   position, the type and the field.
    public func decode<Event: EventSet>(_ recorded: RecordedEvent, as _: Event.Type = Event.self) throws -> Envelope<Event>? {
        var type = recorded.type
        var payload = recorded.data
        if upcastTypes.contains(type) {
            (type, payload) = try upcast(recorded)
        } else {
            let known = Event.eventTypes
            if !known.isEmpty && !known.contains(type) { return nil }
        }
        let event: Event?
        do {
            event = try Event.decode(type: type, payload: payload, codec: self)
        } catch let error as DecodingError {
            throw Self.describe(error, position: recorded.position, type: type)
        } catch let error as StrataError {
            throw error
        } catch {
            throw StrataError.eventDecodingFailed(position: recorded.position, type: type, field: "", reason: "\(error)")
        }
        guard let event else { return nil }
        return Envelope(event: event, id: recorded.id, type: type, stream: recorded.stream, revision: recorded.revision,
                        position: recorded.position, recordedAtMicroseconds: recorded.recordedAtMicroseconds,
                        rawMetadata: recorded.metadata)
    }

    /// Decodes payload bytes as `T` with the codec's JSON decoder.
    public func decodePayload<T: Decodable>(_: T.Type, from data: Data) throws -> T {
        try JSONCoding.decode(T.self, from: data)
    }

    private func upcast(_ recorded: RecordedEvent) throws -> (String, Data) {
        var type = recorded.type
        var version = 1
        if let metadata = recorded.metadata, !metadata.isEmpty {
            version = (try? StrataJSONDecoder().decode(EventMetadata.self, from: metadata))?.eventVersion ?? 1
        }
        var json: JSONValue?
        while let upcaster = upcasters[UpcasterKey(type: type, version: version)] {
            var value: JSONValue
            if let parsed = json { value = parsed } else {
                do { value = try JSONValue(parsing: recorded.data) } catch {
                    throw StrataError.eventDecodingFailed(position: recorded.position, type: type, field: "",
                                                          reason: "the payload is not JSON: \(error)")
                }
            }
            do { try upcaster.transform(&value) } catch {
                throw StrataError.eventDecodingFailed(position: recorded.position, type: type, field: "",
                                                      reason: "upcaster from version \(version) failed: \(error)")
            }
            json = value
            type = upcaster.toType
            version += 1
        }
        guard let json else { return (type, recorded.data) }
        return (type, json.jsonData)
    }

    static func describe(_ error: DecodingError, position: UInt64, type: String) -> StrataError {
        func path(_ context: DecodingError.Context, appending key: (any CodingKey)? = nil) -> String {
            (context.codingPath + (key.map { [$0] } ?? [])).map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
                .joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return .eventDecodingFailed(position: position, type: type, field: path(context, appending: key), reason: "missing")
        case .typeMismatch(let expected, let context):
            return .eventDecodingFailed(position: position, type: type, field: path(context), reason: "expected \(expected)")
        case .valueNotFound(let expected, let context):
            return .eventDecodingFailed(position: position, type: type, field: path(context), reason: "expected \(expected), found null")
        case .dataCorrupted(let context):
            return .eventDecodingFailed(position: position, type: type, field: path(context), reason: context.debugDescription)
        @unknown default:
            return .eventDecodingFailed(position: position, type: type, field: "", reason: "\(error)")
        }
    }

    // MARK: Writing

    /// The `EventData` to append for `event`: its type name, its JSON payload, and the
    /// metadata (with the payload's version when above 1).
    public func eventData<Event: EventSet>(_ event: Event, metadata: EventMetadata = EventMetadata(),
                                           id: UUID = EventID.random()) throws -> EventData {
        let (type, version, data) = try event.encodePayload(codec: self)
        var metadata = metadata
        metadata.eventVersion = version
        let metadataBytes = metadata.isEmpty ? nil : try JSONCoding.encode(metadata)
        return EventData(id: id, type: type, data: data, metadata: metadataBytes)
    }

    /// Encodes a payload with the codec's JSON encoder.
    public func encodePayload<T: Encodable>(_ value: T) throws -> Data {
        try JSONCoding.encode(value)
    }
}

/// The JSON coders the model layer uses: StrataJSON's (about 6× Foundation's, docs/JSON.md).
/// Its coders are single-task objects that keep their buffers between calls, so they are lent
/// out from small pools; a call takes one, uses it, and gives it back.
enum JSONCoding {
    static let decoders = CoderPool { StrataJSONDecoder() }
    static let encoders = CoderPool { () -> StrataJSONEncoder in
        let encoder = StrataJSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }

    static func decode<T: Decodable>(_: T.Type, from data: Data) throws -> T {
        try decoders.with { try $0.decode(T.self, from: data) }
    }

    static func encode<T: Encodable>(_ value: T) throws -> Data {
        try encoders.with { try $0.encode(value) }
    }
}

/// A few reusable coders behind a lock.
final class CoderPool<Coder: AnyObject>: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [Coder] = []
    private let make: () -> Coder

    init(_ make: @escaping () -> Coder) { self.make = make }

    func with<R>(_ body: (Coder) throws -> R) rethrows -> R {
        let coder = lock.withLock { idle.popLast() } ?? make()
        defer { lock.withLock { if idle.count < 16 { idle.append(coder) } } }
        return try body(coder)
    }
}
