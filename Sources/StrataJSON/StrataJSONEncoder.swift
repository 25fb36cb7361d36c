import Foundation

/// Encodes `Encodable` values as compact JSON, several times faster than Foundation's
/// `JSONEncoder`, writing into a byte buffer it keeps between calls.
///
/// Output is streamed as containers are written; number formatting, escaping and the
/// `.sortedKeys` order are Foundation's, except that `/` is not escaped (as with Foundation's
/// `.withoutEscapingSlashes`). A type whose `encode(to:)` writes into a container after
/// opening a later one (possible, but never done by synthesized conformances) cannot be
/// streamed: it is encoded again through Foundation's `JSONEncoder` with the same options, so
/// its `encode(to:)` runs twice.
///
/// ```swift
/// let encoder = StrataJSONEncoder()
/// encoder.outputFormatting = .sortedKeys
/// let data = try encoder.encode(OrderPlaced(id: 7, total: 42))
/// ```
///
/// An encoder is meant for one task at a time: it is not `Sendable`, and it reuses its buffer
/// from one call to the next. Make one per task (creating one allocates nothing until its first
/// encode). Encoders and containers handed to `encode(to:)` are valid only until it returns.
public final class StrataJSONEncoder {
    /// Output options (default: none, keys in the order they are encoded).
    public var outputFormatting: OutputFormatting = []
    /// How `Date` values are written (default: `.deferredToDate`, as Foundation).
    public var dateEncodingStrategy: DateEncodingStrategy = .deferredToDate
    /// How `Data` values are written (default: `.base64`).
    public var dataEncodingStrategy: DataEncodingStrategy = .base64
    /// How coding keys become object keys (default: `.useDefaultKeys`).
    public var keyEncodingStrategy: KeyEncodingStrategy = .useDefaultKeys
    /// Handed to every `Encoder` as its `userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    private var state: JSONEncodingState?

    /// Creates an encoder with Foundation's default options.
    public init() {}

    /// Encodes a value as JSON.
    ///
    /// - Throws: `EncodingError.invalidValue` for a non-finite floating-point value (with its
    ///   coding path), for a value that encodes nothing at the top level, and whatever the
    ///   value's own `encode(to:)` throws.
    public func encode<T: Encodable>(_ value: T) throws -> Data {
        try withEncoded(value) { Data($0) }
    }

    /// Encodes a value and appends its JSON to `bytes` (reuse one array to avoid allocating).
    public func encode<T: Encodable>(_ value: T, into bytes: inout [UInt8]) throws {
        try withEncoded(value) { bytes.append(contentsOf: $0) }
    }

    /// Encodes a value and lends its JSON to `body` without copying it. The bytes are valid only
    /// during the call.
    public func withEncoded<T: Encodable, R>(_ value: T, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let state: JSONEncodingState
        if let kept = self.state, !kept.busy {
            state = kept
        } else {
            state = JSONEncodingState()
            if self.state == nil { self.state = state }
        }
        state.busy = true
        defer { state.busy = false }
        state.reset()
        state.sortsKeys = outputFormatting.contains(.sortedKeys)
        if case .convertToSnakeCase = keyEncodingStrategy { state.convertsSnakeCase = true } else { state.convertsSnakeCase = false }
        state.dateStrategy = dateEncodingStrategy
        state.dataStrategy = dataEncodingStrategy
        if !userInfo.isEmpty || !state.userInfo.isEmpty { state.userInfo = userInfo }
        do {
            try state.encodeTopLevel(value)
        } catch where state.interrupted {
            return try foundationEncoding(value).withUnsafeBytes(body)
        }
        return try body(UnsafeRawBufferPointer(start: state.out.base, count: state.out.count))
    }

    /// The same value through Foundation's encoder with equivalent options, for values that
    /// cannot be streamed.
    private func foundationEncoding<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        var formatting: JSONEncoder.OutputFormatting = [.withoutEscapingSlashes]
        if outputFormatting.contains(.sortedKeys) { formatting.insert(.sortedKeys) }
        encoder.outputFormatting = formatting
        switch dateEncodingStrategy {
        case .deferredToDate: encoder.dateEncodingStrategy = .deferredToDate
        case .secondsSince1970: encoder.dateEncodingStrategy = .secondsSince1970
        case .millisecondsSince1970: encoder.dateEncodingStrategy = .millisecondsSince1970
        case .iso8601, .iso8601WithFractionalSeconds:
            let milliseconds: Bool
            if case .iso8601 = dateEncodingStrategy { milliseconds = false } else { milliseconds = true }
            encoder.dateEncodingStrategy = .custom { date, encoder in
                let out = JSONOutput(capacity: 40)
                UTCTime.appendISO8601(date, milliseconds: milliseconds, into: out)
                var container = encoder.singleValueContainer()
                try container.encode(String(decoding: UnsafeBufferPointer(start: out.base + 1, count: out.count - 2), as: UTF8.self))
            }
        case .custom(let write): encoder.dateEncodingStrategy = .custom(write)
        }
        switch dataEncodingStrategy {
        case .base64: encoder.dataEncodingStrategy = .base64
        case .deferredToData: encoder.dataEncodingStrategy = .deferredToData
        case .custom(let write): encoder.dataEncodingStrategy = .custom(write)
        }
        if case .convertToSnakeCase = keyEncodingStrategy { encoder.keyEncodingStrategy = .convertToSnakeCase }
        encoder.userInfo = userInfo
        return try encoder.encode(value)
    }
}

@available(*, unavailable, message: "A StrataJSONEncoder reuses its buffer between calls: make one per task.")
extension StrataJSONEncoder: Sendable {}
