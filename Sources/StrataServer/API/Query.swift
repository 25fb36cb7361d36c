import Hummingbird
import HummingbirdCore
import Strata
import StrataJSONShapes

/// A request's query parameters, with the parsing every endpoint shares.
struct Query: Sendable {
    let parameters: [String: [String]]

    init(_ uri: URI) {
        var parameters: [String: [String]] = [:]
        for (key, value) in uri.queryParameters {
            parameters[String(key), default: []].append(String(value))
        }
        self.parameters = parameters
    }

    init(parameters: [String: [String]]) { self.parameters = parameters }

    func string(_ name: String) -> String? { parameters[name]?.last }
    func all(_ name: String) -> [String] { parameters[name] ?? [] }

    func uint(_ name: String) throws(APIError) -> UInt64? {
        guard let text = string(name) else { return nil }
        guard let n = UInt64(text) else { throw APIError.badParameter("\(name) must be a non-negative integer, not \"\(text)\"") }
        return n
    }

    func int(_ name: String) throws(APIError) -> Int? {
        guard let text = string(name) else { return nil }
        guard let n = Int(text) else { throw APIError.badParameter("\(name) must be an integer, not \"\(text)\"") }
        return n
    }

    /// `from`: `start`, `end` or a number (inclusive).
    func origin() throws(APIError) -> ReadOrigin {
        switch string("from") {
        case nil, "start": return .start
        case "end": return .end
        case let text?:
            guard let n = UInt64(text) else { throw APIError.badParameter("from must be start, end or a number, not \"\(text)\"") }
            return .at(n)
        }
    }

    func direction() throws(APIError) -> ReadDirection {
        switch string("direction") {
        case nil, "forward": return .forward
        case "backward": return .backward
        case let other?: throw APIError.badParameter("direction must be forward or backward, not \"\(other)\"")
        }
    }

    func eventStyle() throws(APIError) -> EventJSON.Style {
        switch string("encoding") {
        case nil, "json": return .api
        case "base64": return .exact
        case let other?: throw APIError.badParameter("encoding must be json or base64, not \"\(other)\"")
        }
    }

    /// The `$all` filter from `prefix` and `type`, narrowed to a key's stream prefix.
    func filter(restrictedTo keyPrefix: String?) throws(APIError) -> EventFilter {
        var prefixes = all("prefix")
        if let keyPrefix {
            if prefixes.isEmpty {
                prefixes = [keyPrefix]
            } else {
                // Each asked prefix narrowed to the key's: the longer of the two when one
                // extends the other, dropped when they diverge.
                prefixes = prefixes.compactMap { p in
                    if p.utf8.starts(with: keyPrefix.utf8) { return p }
                    if keyPrefix.utf8.starts(with: p.utf8) { return keyPrefix }
                    return nil
                }
                if prefixes.isEmpty { throw APIError.outsidePrefix(all("prefix").joined(separator: ", ")) }
            }
        }
        return EventFilter(streamPrefixes: prefixes, eventTypes: Set(all("type")))
    }
}

extension APIError {
    static func outsidePrefix(_ stream: String) -> APIError {
        APIError(.forbidden, code: "forbidden", "this API key may not access \"\(stream)\": it is limited to a stream prefix")
    }

    static func missingScope(_ scope: APIKey.Scope) -> APIError {
        APIError(.forbidden, code: "forbidden", "this API key lacks the \(scope.rawValue) scope")
    }
}
