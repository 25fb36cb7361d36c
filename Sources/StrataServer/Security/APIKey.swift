import Crypto
import Foundation
import Strata

/// An API key: a secret (or its SHA-256 hash), what it may do, and optionally which streams.
///
/// In a configuration file or `STRATA_API_KEYS`:
/// `{"name": "ingest-bot", "key": "…at least 16 characters…", "scopes": ["write"], "streamPrefix": "ingest-"}`,
/// or with the secret kept out of the file: `{"name": "ingest-bot", "keyHash": "sha256:<64 hex digits>", …}`
/// (`strata key new` prints a fresh key with its hash). Several entries may share a name, to
/// rotate a key: the old and the new secret both work until the old entry is removed; such
/// entries must agree on scopes and stream prefix.
public struct APIKey: Sendable, Hashable, Codable {
    /// What a key may do.
    public enum Scope: String, Sendable, Hashable, Codable {
        /// Reads, stream info, listings, subscriptions, stats.
        case read
        /// Appends, ingest, deletes, stream metadata.
        case write
        /// Everything, including `/metrics` and `/consumers`.
        case admin
    }

    /// A name for logs and metrics (the secret itself is never logged).
    public var name: String
    /// The secret the client sends, when the configuration holds it in plain text.
    public var key: String?
    /// `sha256:` and the lowercase hex SHA-256 of the secret's UTF-8 bytes, when the
    /// configuration holds only the hash.
    public var keyHash: String?
    /// What the key may do.
    public var scopes: Set<Scope>
    /// When set, the key may only touch streams whose names start with this prefix; its `$all`
    /// reads and subscriptions are filtered to it.
    public var streamPrefix: String?

    /// Creates a key from its secret.
    public init(name: String, key: String, scopes: Set<Scope>, streamPrefix: String? = nil) {
        self.name = name
        self.key = key
        self.keyHash = nil
        self.scopes = scopes
        self.streamPrefix = streamPrefix
    }

    /// Creates a key from the hash of its secret (``APIKey/hash(_:)``).
    public init(name: String, keyHash: String, scopes: Set<Scope>, streamPrefix: String? = nil) {
        self.name = name
        self.key = nil
        self.keyHash = keyHash
        self.scopes = scopes
        self.streamPrefix = streamPrefix
    }

    /// Whether the key grants `scope` (admin grants everything).
    public func allows(_ scope: Scope) -> Bool { scopes.contains(scope) || scopes.contains(.admin) }

    /// Whether the key may touch `stream`.
    public func covers(stream: String) -> Bool {
        guard let streamPrefix else { return true }
        return stream.utf8.starts(with: streamPrefix.utf8)
    }

    /// The `keyHash` form of a secret: `sha256:` and 64 lowercase hex digits.
    public static func hash(_ secret: String) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = Array("sha256:".utf8)
        for byte in SHA256.hash(data: Array(secret.utf8)) {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A new random secret: 32 bytes from the system's secure generator, as 43 base64url characters.
    public static func generateSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The 32 digest bytes this entry is matched by.
    /// - Throws: ``Strata/StrataError/invalidArgument(_:)`` when neither or both of `key` and
    ///   `keyHash` are set, the key is shorter than 16 characters, or the hash is malformed.
    func digest() throws -> [UInt8] {
        switch (key, keyHash) {
        case (let key?, nil):
            guard key.utf8.count >= 16 else { throw StrataError.invalidArgument("API key \"\(name)\" is shorter than 16 characters") }
            return Array(SHA256.hash(data: Array(key.utf8)))
        case (nil, let hash?):
            let hex = Array(hash.utf8)
            guard hash.hasPrefix("sha256:"), hex.count == 7 + 64 else {
                throw StrataError.invalidArgument("API key \"\(name)\": keyHash must be \"sha256:\" and 64 hex digits (strata key new prints one)")
            }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(32)
            var i = 7
            while i < hex.count {
                guard let high = Self.hexValue(hex[i]), let low = Self.hexValue(hex[i + 1]) else {
                    throw StrataError.invalidArgument("API key \"\(name)\": keyHash holds a character that is not a hex digit")
                }
                bytes.append(high << 4 | low)
                i += 2
            }
            return bytes
        case (nil, nil):
            throw StrataError.invalidArgument("API key \"\(name)\" has neither \"key\" nor \"keyHash\"")
        case (_?, _?):
            throw StrataError.invalidArgument("API key \"\(name)\" has both \"key\" and \"keyHash\"; keep one")
        }
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
