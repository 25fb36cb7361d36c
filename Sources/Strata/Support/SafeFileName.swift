/// Arbitrary names (consumer names, stream names) as single, reversible file names.
///
/// Bytes outside `[A-Za-z0-9._-]` become `%XX` (upper-case hex), and so does a leading `.`, so
/// the result is never `.`/`..`, never hidden, and never contains `/`.
public enum SafeFileName {
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
