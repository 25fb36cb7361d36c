import CStrataCRC

/// CRC32C (Castagnoli), the checksum of segment headers and records (docs/FORMAT.md, "Checksums").
///
/// `checksum` takes the SSE4.2 instruction when the CPU has it (~10 GB/s) and a table otherwise.
/// Results chain: `checksum(b, continuing: checksum(a))` is the checksum of `a` followed by `b`.
enum CRC32C {
    /// CRC32C of `bytes`, continuing from a previous result (0 starts a new checksum).
    @inline(__always)
    static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return strata_crc32c(crc, base, bytes.count)
    }

    /// Whether `checksum` uses the hardware instruction on this machine.
    static var isHardwareAccelerated: Bool { strata_crc32c_is_hardware() != 0 }

    /// The C table implementation that `checksum` falls back to without SSE4.2; for tests.
    static func portableChecksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return strata_crc32c_portable(crc, base, bytes.count)
    }

    /// A pure-Swift slicing-by-8 CRC32C, independent of the C code: the reference in tests.
    static func softwareChecksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        table.withUnsafeBufferPointer { t in
            var c = ~crc
            var index = 0
            let count = bytes.count
            while count - index >= 8 {
                let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                    ^ UInt64(c)
                c = t[7 &* 256 &+ Int(word & 0xFF)]
                    ^ t[6 &* 256 &+ Int((word >> 8) & 0xFF)]
                    ^ t[5 &* 256 &+ Int((word >> 16) & 0xFF)]
                    ^ t[4 &* 256 &+ Int((word >> 24) & 0xFF)]
                    ^ t[3 &* 256 &+ Int((word >> 32) & 0xFF)]
                    ^ t[2 &* 256 &+ Int((word >> 40) & 0xFF)]
                    ^ t[1 &* 256 &+ Int((word >> 48) & 0xFF)]
                    ^ t[Int(word >> 56)]
                index &+= 8
            }
            while index < count {
                c = t[Int((c ^ UInt32(bytes[index])) & 0xFF)] ^ (c >> 8)
                index &+= 1
            }
            return ~c
        }
    }

    /// Slicing-by-8 tables, 8 × 256 entries: table k maps a byte k positions from the end.
    private static let table: [UInt32] = {
        let polynomial: UInt32 = 0x82F6_3B78
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ polynomial : c >> 1 }
            table[n] = c
        }
        for n in 0..<256 {
            var c = table[n]
            for k in 1..<8 {
                c = table[Int(c & 0xFF)] ^ (c >> 8)
                table[k * 256 + n] = c
            }
        }
        return table
    }()
}
