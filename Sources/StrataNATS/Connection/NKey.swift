import Crypto
import Foundation

/// A NATS NKEY: an Ed25519 key pair whose seed and public key are written as NATS writes them,
/// base32 (RFC 4648, no padding) of a prefix, the key bytes and a CRC-16 (XMODEM: polynomial
/// 0x1021, initial value 0) stored little-endian.
///
/// A seed (`SU…` for a user) is two prefix bytes (the seed prefix and the key's type, packed
/// into 5 + 5 bits), the 32-byte Ed25519 seed and the checksum; a public key (`U…`) is one type
/// byte, the 32-byte public key and the checksum.
///
/// ```swift
/// let key = try NKey(seed: "SUA…")
/// let signature = try key.sign(Array(nonce.utf8))   // 64 bytes, Ed25519
/// print(key.publicKey)                              // "U…"
/// ```
public struct NKey: Sendable {
    /// What an NKEY identifies; the raw values are the prefix bytes of the encoded public keys.
    public enum KeyType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        /// An account (`A…`).
        case account = 0
        /// A cluster (`C…`).
        case cluster = 16
        /// A server (`N…`).
        case server = 104
        /// An operator (`O…`).
        case `operator` = 112
        /// A user (`U…`), the type a client connects with.
        case user = 160

        public var description: String {
            switch self {
            case .account: "account"
            case .cluster: "cluster"
            case .server: "server"
            case .operator: "operator"
            case .user: "user"
            }
        }
    }

    /// The prefix byte of every encoded seed (`S`).
    static let seedPrefix: UInt8 = 18 << 3

    /// The type of the key.
    public let type: KeyType
    private let privateKey: Curve25519.Signing.PrivateKey

    /// Decodes an encoded seed (`SU…` for a user, surrounding white space ignored).
    /// - Parameter expecting: the type the seed must have (a user's by default); `nil` accepts any.
    /// - Throws: ``NATSError/invalidCredentials(_:)`` when the text is not base32, has the wrong
    ///   length, a checksum that does not match, no seed prefix, or another key type. The
    ///   message never repeats the seed.
    public init(seed: String, expecting: KeyType? = .user) throws {
        let text = seed.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let raw = Base32.decode(text) else {
            throw NATSError.invalidCredentials("the NKEY seed is not base32 (A-Z, 2-7)")
        }
        guard raw.count == 36 else {
            throw NATSError.invalidCredentials("the NKEY seed decodes to \(raw.count) bytes, not 36: is it truncated, or a public key rather than a seed?")
        }
        try Self.checkCRC(raw, what: "seed")
        guard raw[0] & 0xF8 == Self.seedPrefix else {
            throw NATSError.invalidCredentials("the NKEY seed does not start with the seed prefix S: is it a public key?")
        }
        let typeByte = (raw[0] & 0x07) << 5 | (raw[1] & 0xF8) >> 3
        guard let type = KeyType(rawValue: typeByte) else {
            throw NATSError.invalidCredentials("the NKEY seed has an unknown key type (prefix byte \(typeByte))")
        }
        if let expecting, type != expecting {
            throw NATSError.invalidCredentials("the NKEY seed is of type \(type), not \(expecting)")
        }
        do {
            self.privateKey = try Curve25519.Signing.PrivateKey(rawRepresentation: raw[2 ..< 34])
        } catch {
            throw NATSError.invalidCredentials("the NKEY seed is not an Ed25519 seed")
        }
        self.type = type
    }

    /// A key pair of `type` from 32 Ed25519 seed bytes (a new random one when `nil`).
    init(type: KeyType, rawSeed: [UInt8]? = nil) throws {
        self.type = type
        if let rawSeed {
            self.privateKey = try Curve25519.Signing.PrivateKey(rawRepresentation: rawSeed)
        } else {
            self.privateKey = Curve25519.Signing.PrivateKey()
        }
    }

    /// The encoded public key: `U…` for a user, `A…` for an account, and so on.
    public var publicKey: String {
        Self.encode([type.rawValue] + publicKeyBytes)
    }

    /// The 32 bytes of the Ed25519 public key.
    public var publicKeyBytes: [UInt8] { Array(privateKey.publicKey.rawRepresentation) }

    /// The encoded seed (`SU…` for a user). It is the secret: keep it out of logs.
    var seed: String {
        Self.encode([Self.seedPrefix | type.rawValue >> 5, (type.rawValue & 0x1F) << 3] + Array(privateKey.rawRepresentation))
    }

    /// The 64-byte Ed25519 signature of `data`.
    /// - Throws: ``NATSError/invalidCredentials(_:)`` should the crypto library fail to sign.
    public func sign(_ data: [UInt8]) throws -> [UInt8] {
        do {
            return Array(try privateKey.signature(for: data))
        } catch {
            throw NATSError.invalidCredentials("signing with the NKEY failed: \(error)")
        }
    }

    /// Whether `signature` is this key's signature of `data`.
    public func isValidSignature(_ signature: [UInt8], for data: [UInt8]) -> Bool {
        privateKey.publicKey.isValidSignature(signature, for: data)
    }

    /// The 32 public key bytes of an encoded public key (`U…`) of `type`.
    /// - Throws: ``NATSError/invalidCredentials(_:)`` when it is not one.
    static func decodePublicKey(_ text: String, type: KeyType = .user) throws -> [UInt8] {
        guard let raw = Base32.decode(text), raw.count == 35 else {
            throw NATSError.invalidCredentials("\(text.debugDescription) is not an encoded NKEY public key")
        }
        try checkCRC(raw, what: "public key")
        guard raw[0] == type.rawValue else {
            throw NATSError.invalidCredentials("\(text.debugDescription) is not a \(type) public key")
        }
        return Array(raw[1 ..< 33])
    }

    /// `body` followed by its CRC-16, little-endian, in base32.
    static func encode(_ body: [UInt8]) -> String {
        let crc = crc16(body)
        return Base32.encode(body + [UInt8(crc & 0xFF), UInt8(crc >> 8)])
    }

    private static func checkCRC(_ raw: [UInt8], what: String) throws {
        let body = raw.dropLast(2)
        let stored = UInt16(raw[raw.count - 2]) | UInt16(raw[raw.count - 1]) << 8
        guard crc16(body) == stored else {
            throw NATSError.invalidCredentials("the NKEY \(what)'s checksum does not match: is a character mistyped?")
        }
    }

    /// CRC-16/XMODEM: polynomial 0x1021, initial value 0, no reflection, no final XOR.
    static func crc16(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0 ..< 8 {
                crc = crc & 0x8000 != 0 ? crc << 1 ^ 0x1021 : crc << 1
            }
        }
        return crc
    }
}

/// Base32 of RFC 4648 (alphabet `A-Z 2-7`) without padding, as NKEYs use it.
enum Base32 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 8 + 4) / 5)
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = buffer << 8 | UInt32(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                out.append(alphabet[Int(buffer >> UInt32(bits) & 0x1F)])
            }
        }
        if bits > 0 { out.append(alphabet[Int(buffer << UInt32(5 - bits) & 0x1F)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of `text`, or `nil` when it has a character outside the alphabet (lowercase,
    /// padding and white space included) or is not a length an encoding can have.
    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 5 / 8)
        var buffer: UInt32 = 0
        var bits = 0
        for c in text.utf8 {
            let value: UInt8
            switch c {
            case 65 ... 90: value = c - 65      // A-Z
            case 50 ... 55: value = c - 50 + 26 // 2-7
            default: return nil
            }
            buffer = buffer << 5 | UInt32(value)
            bits += 5
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(buffer >> UInt32(bits) & 0xFF))
            }
        }
        // Leftover bits are padding: fewer than 5 of them, all zero.
        guard bits < 5, buffer & (1 << UInt32(bits) - 1) == 0 else { return nil }
        return out
    }
}

/// Base64url (RFC 4648 §5) without padding, as NATS sends signatures and JWTs use.
func base64URL(_ bytes: some Sequence<UInt8>) -> String {
    var text = Data(bytes).base64EncodedString()
    while text.hasSuffix("=") { text.removeLast() }
    return String(text.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
}
