import Foundation
@_spi(Machinery) import Strata

/// How collections and keys become stream names.
///
/// A document's stream is `<collection>-<escaped key>`. Keys keep every character that is valid
/// in a stream name (so `!@#$%^&*()_+` is readable in stream listings); only `%` and control
/// characters are percent-encoded (`%25`, `%0A`, …), which makes the mapping reversible. Keys
/// are normalized to Unicode NFC first (stream names must be NFC). Collection names are
/// `[A-Za-z0-9_.]`, 1–64 bytes, with no `-`: so the prefix `users-` can only ever be the
/// collection `users`, never a collection `users-archive`. A collection name can be a folder
/// name (a server's `documentsDirectory/<collection>`), so it also passes
/// `SafeFileName.validateComponent`: no leading `.`, hence never `.` or `..`.
public enum DocumentNaming {
    /// The longest collection name, in bytes.
    public static let maxCollectionBytes = 64

    /// Checks a collection name.
    /// - Throws: `StrataError.invalidArgument(_:)`.
    public static func validateCollection(_ name: String) throws {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= maxCollectionBytes else {
            throw StrataError.invalidArgument("collection name \"\(name)\" must be 1–\(maxCollectionBytes) bytes")
        }
        try SafeFileName.validateComponent(name, what: "collection name")
        guard name != CDCChange.streamPrefixName else {
            throw StrataError.invalidArgument("collection name \"\(name)\" is reserved: its document streams would be the change streams cdc-<collection> of CDC collections")
        }
        for b in bytes {
            let ok = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2E
            guard ok else {
                throw StrataError.invalidArgument("collection name \"\(name)\" may hold only letters, digits, '_' and '.'")
            }
        }
    }

    /// The stream-name prefix of a collection's documents.
    public static func streamPrefix(collection: String) -> String { collection + "-" }

    /// The key as stored: NFC-normalized, checked to be non-empty.
    static func normalizeKey(_ key: String) throws -> String {
        guard !key.isEmpty else { throw StrataError.invalidArgument("a document key must not be empty") }
        if key.utf8.allSatisfy({ $0 < 0x80 }) { return key }
        return key.precomposedStringWithCanonicalMapping
    }

    /// Whether `stream` is the stream of `key` in `collection` (without building the name when
    /// the key needs no escaping: the view checks this for every event).
    static func isStream(_ stream: String, collection: String, key: String) -> Bool {
        let s = stream.utf8, c = collection.utf8, k = key.utf8
        if s.count == c.count + 1 + k.count, !k.contains(where: { $0 == 0x25 || $0 < 0x20 || $0 == 0x7F || $0 == 0xC2 }) {
            return s.starts(with: c) && s[s.index(s.startIndex, offsetBy: c.count)] == UInt8(ascii: "-")
                && s.suffix(k.count).elementsEqual(k)
        }
        return (try? Self.stream(collection: collection, key: key)) == stream
    }

    /// The stream of a (normalized) key.
    /// - Throws: `StrataError.invalidArgument(_:)` when the stream name would exceed
    ///   255 bytes.
    static func stream(collection: String, key: String) throws -> String {
        var name = streamPrefix(collection: collection)
        var needsEscape = false
        for b in key.utf8 where b == 0x25 || b < 0x20 || b == 0x7F { needsEscape = true; break }
        if !needsEscape, !key.unicodeScalars.contains(where: { (0x80 ... 0x9F).contains($0.value) }) {
            name += key
        } else {
            for scalar in key.unicodeScalars {
                if scalar == "%" || scalar.value < 0x20 || scalar.value == 0x7F || (0x80 ... 0x9F).contains(scalar.value) {
                    for b in String(scalar).utf8 { name += "%" + (b < 0x10 ? "0" : "") + String(b, radix: 16, uppercase: true) }
                } else {
                    name.unicodeScalars.append(scalar)
                }
            }
        }
        guard name.utf8.count <= Naming.maxNameBytes else {
            throw StrataError.invalidArgument("document key is too long: its stream name would be \(name.utf8.count) bytes, over \(Naming.maxNameBytes)")
        }
        return name
    }
}
