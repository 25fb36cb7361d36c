import Foundation
import GRPCCore
import Strata

/// A `$all` filter of the protocol: stream-name or event-type prefixes or a regular expression.
///
/// Stream-name prefixes (and a key's stream prefix) go to the store as an ``EventFilter``, which
/// the backends apply where they read. Event-type prefixes and regular expressions, which
/// Strata's filter does not express, are applied here to what the store returns.
struct KurrentFilter: @unchecked Sendable {
    /// What the store filters by.
    let store: EventFilter
    /// Event-type prefixes (empty: any type).
    let typePrefixes: [String]
    /// A regular expression on the stream name or the event type, searched (not anchored)
    /// as KurrentDB does. `NSRegularExpression` is immutable and thread-safe.
    let regex: NSRegularExpression?
    let regexOnType: Bool

    /// No filter, or a key's stream prefix alone.
    init(restrictedTo prefix: String?) {
        store = EventFilter(streamPrefixes: prefix.map { [$0] } ?? [])
        typePrefixes = []
        regex = nil
        regexOnType = false
    }

    /// The request's filter, within a key's stream prefix.
    /// - Throws: `invalidArgument` for a regular expression that does not compile, or prefixes
    ///   all outside the key's.
    init(_ options: EventStore_Client_Streams_ReadReq.Options.FilterOptions, restrictedTo keyPrefix: String?) throws {
        let expression: EventStore_Client_Streams_ReadReq.Options.FilterOptions.Expression
        let onType: Bool
        switch options.filter {
        case .streamIdentifier(let e)?: (expression, onType) = (e, false)
        case .eventType(let e)?: (expression, onType) = (e, true)
        case nil: (expression, onType) = (.init(), false)
        }
        store = EventFilter(streamPrefixes: try Self.streamPrefixes(onType ? [] : expression.prefix, within: keyPrefix))
        typePrefixes = onType ? expression.prefix : []
        regexOnType = onType
        if expression.regex.isEmpty {
            regex = nil
        } else {
            do { regex = try NSRegularExpression(pattern: expression.regex) } catch {
                throw RPCError(code: .invalidArgument, message: "the filter's regular expression does not compile: \(expression.regex)")
            }
        }
    }

    /// Requested stream-name prefixes narrowed to a key's prefix: each inside it is kept, one
    /// that contains it becomes it, others are dropped; none requested means the key's.
    /// - Throws: `permissionDenied` when every requested prefix is outside the key's.
    static func streamPrefixes(_ requested: [String], within keyPrefix: String?) throws -> [String] {
        guard let keyPrefix else { return requested }
        guard !requested.isEmpty else { return [keyPrefix] }
        let narrowed = requested.compactMap { p in p.hasPrefix(keyPrefix) ? p : (keyPrefix.hasPrefix(p) ? keyPrefix : nil) }
        if narrowed.isEmpty {
            throw RPCError(code: .permissionDenied, message: "Access denied: every prefix of the filter is outside the key's stream prefix")
        }
        return narrowed
    }

    /// Whether the filter needs this layer (beyond what the store filters).
    var filtersHere: Bool { !typePrefixes.isEmpty || regex != nil }

    /// Whether an event the store returned passes the rest of the filter.
    func matches(_ event: RecordedEvent) -> Bool {
        if !typePrefixes.isEmpty && !typePrefixes.contains(where: { event.type.hasPrefix($0) }) { return false }
        if let regex {
            let text = regexOnType ? event.type : event.stream
            if regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil { return false }
        }
        return true
    }
}
