import Foundation

/// Decodes `Decodable` values from JSON bytes, several times faster than Foundation's
/// `JSONDecoder`, with the same results for valid input and typed `DecodingError`s for invalid
/// input.
///
/// One pass checks the input against RFC 8259 and records every value's place on a compact
/// tape that the decoder keeps between calls; keys are then found by comparing UTF-8 bytes, and
/// a `String` is built only when a string value is decoded.
///
/// ```swift
/// let decoder = StrataJSONDecoder()
/// decoder.dateDecodingStrategy = .iso8601
/// let placed = try decoder.decode(OrderPlaced.self, from: event.data)
/// ```
///
/// A decoder is meant for one task at a time: it is not `Sendable`, and it reuses its memory
/// from one call to the next. Make one per task (creating one allocates nothing until its first
/// decode), or keep one in an actor or a task-local. Decoders and containers handed to
/// `init(from:)` are valid only until that call returns.
public final class StrataJSONDecoder {
    /// How `Date` values are read (default: `.deferredToDate`, as Foundation).
    public var dateDecodingStrategy: DateDecodingStrategy = .deferredToDate
    /// How `Data` values are read (default: `.base64`).
    public var dataDecodingStrategy: DataDecodingStrategy = .base64
    /// How object keys map to coding keys (default: `.useDefaultKeys`).
    public var keyDecodingStrategy: KeyDecodingStrategy = .useDefaultKeys
    /// Handed to every `Decoder` as its `userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    private var state: JSONDecodingState?

    /// Creates a decoder with Foundation's default options.
    public init() {}

    /// Decodes a value from JSON bytes.
    ///
    /// - Throws: `DecodingError.dataCorrupted` when the bytes are not valid JSON (the underlying
    ///   error is a ``StrataJSONSyntaxError`` with the byte offset); `typeMismatch`,
    ///   `valueNotFound`, `keyNotFound` or `dataCorrupted` when the JSON does not fit the type,
    ///   with the coding path of the value at fault.
    public func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try data.withUnsafeBytes { try decode(type, from: $0) }
    }

    /// Decodes a value from JSON bytes.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBytes { try decode(type, from: $0) }
    }

    /// Decodes a value from JSON bytes, which must stay valid during the call.
    public func decode<T: Decodable>(_ type: T.Type, from buffer: UnsafeRawBufferPointer) throws -> T {
        let state: JSONDecodingState
        if let kept = self.state, !kept.busy {
            state = kept
        } else {
            state = JSONDecodingState()
            if self.state == nil { self.state = state }
        }
        state.busy = true
        defer {
            state.finish()
            state.busy = false
        }
        state.dateStrategy = dateDecodingStrategy
        state.dataStrategy = dataDecodingStrategy
        if case .convertFromSnakeCase = keyDecodingStrategy { state.convertsSnakeCase = true } else { state.convertsSnakeCase = false }
        if !userInfo.isEmpty || !state.userInfo.isEmpty { state.userInfo = userInfo }
        try state.parse(buffer)
        return try state.decodeValue(T.self, at: 0)
    }
}

@available(*, unavailable, message: "A StrataJSONDecoder reuses its memory between calls: make one per task.")
extension StrataJSONDecoder: Sendable {}
