/// Arbitrary names (consumer names, stream names) as single, reversible file names.
///
/// Bytes outside `[A-Za-z0-9._-]` become `%XX` (upper-case hex), and so does a leading `.`, so
/// the result is never `.`/`..`, never hidden, and never contains `/`.
@_spi(Machinery) public enum SafeFileName {
    /// The file name for `name`.
    public static func encode(_ name: String) -> String {
        var out = ""
        for (i, byte) in name.utf8.enumerated() {
            let safe = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x5F || byte == 0x2D || (byte == 0x2E && i > 0)
            if safe {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }

    /// Checks a name that is used as a file or folder name as it is (a document collection's
    /// folder, …): the one check of such names. It must be 1–255 bytes, must not be `.` or
    /// `..` or start with `.`, and must not contain `/`, `\` or NUL; callers may restrict the
    /// alphabet further.
    /// - Throws: ``StrataError/invalidArgument(_:)`` naming `what`.
    public static func validateComponent(_ name: String, what: String) throws(StrataError) {
        let bytes = name.utf8
        guard !bytes.isEmpty, bytes.count <= 255 else {
            throw .invalidArgument("\(what) \"\(name.prefix(80))\" must be 1–255 bytes")
        }
        guard bytes.first != UInt8(ascii: ".") else {
            throw .invalidArgument("\(what) \"\(name.prefix(80))\" must not start with \".\" (no \".\", \"..\" or hidden names)")
        }
        guard !bytes.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") || $0 == 0 }) else {
            throw .invalidArgument("\(what) \"\(name.prefix(80))\" must not contain \"/\", \"\\\" or NUL")
        }
    }

    /// The name a file name encodes, or `nil` when it is not an encoded name.
    public static func decode(_ fileName: String) -> String? {
        if fileName.hasPrefix(".") { return nil }
        var bytes: [UInt8] = []
        var iterator = fileName.utf8.makeIterator()
        while let b = iterator.next() {
            if b == 0x25 {
                guard let h = iterator.next(), let l = iterator.next(),
                      let v = UInt8(String(decoding: [h, l], as: UTF8.self), radix: 16) else { return nil }
                bytes.append(v)
            } else {
                bytes.append(b)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
