import Crypto
import HTTPTypes
import Synchronization

/// Who made a request: a configured key, or anyone when no key is configured.
package struct Principal: Sendable, Hashable {
    /// The key's name, or `"anonymous"`.
    package let name: String
    /// The key, or nil for anonymous access (which may do everything).
    package let key: APIKey?

    package static let anonymous = Principal(name: "anonymous", key: nil)

    package func allows(_ scope: APIKey.Scope) -> Bool { key?.allows(scope) ?? true }
    package func covers(stream: String) -> Bool { key?.covers(stream: stream) ?? true }
    package var streamPrefix: String? { key?.streamPrefix }
}

/// Finds the key a request carries. The presented secret is hashed (SHA-256) and compared with
/// every configured key's digest in constant time, every digest every time, so timing reveals
/// neither a key's bytes nor which key matched; plain and hashed keys are matched alike.
package struct Authenticator: Sendable {
    let keys: [APIKey]
    private let digests: [[UInt8]]

    /// - Throws: ``Strata/StrataError/invalidArgument(_:)`` for a malformed key entry.
    init(keys: [APIKey]) throws {
        self.keys = keys
        self.digests = try keys.map { try $0.digest() }
    }

    /// Whether requests must carry a key.
    package var isEnabled: Bool { !keys.isEmpty }

    /// The principal for the presented secret (from `Authorization: Bearer`, `X-API-Key` or the
    /// `api_key` query parameter of a GET).
    func authenticate(_ presented: String?) throws(APIError) -> Principal {
        guard isEnabled else { return .anonymous }
        guard let presented, !presented.isEmpty else {
            throw APIError(.unauthorized, code: "unauthorized", "this server requires an API key: send Authorization: Bearer <key>")
        }
        let candidate = Array(SHA256.hash(data: Array(presented.utf8)))
        var match = -1
        for (index, digest) in digests.enumerated() where Authenticator.constantTimeEqual(candidate, digest) {
            match = index
        }
        guard match >= 0 else { throw APIError(.unauthorized, code: "unauthorized", "the API key is not valid") }
        return Principal(name: keys[match].name, key: keys[match])
    }

    /// Compares two byte strings in time that depends only on their lengths.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        let count = max(a.count, b.count)
        for i in 0..<count {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0
    }

    /// The query parameter a GET may present its key in (kept out of traces).
    static let queryParameter = "api_key"

    /// The secret a request presents, if any.
    static func presentedKey(headers: HTTPFields, query: [String: [String]], isGet: Bool) -> String? {
        if let value = headers[.authorization] {
            let parts = value.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1]).trimmingSpaces() }
        }
        if let name = HTTPField.Name("X-API-Key"), let value = headers[name] { return value }
        if isGet, let value = query[queryParameter]?.first { return value }
        return nil
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
