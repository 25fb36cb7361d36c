import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Fast random (version 4) UUIDs for event ids. Foundation's `UUID()` reads the kernel's
/// random source once per id, which costs more than appending the event; this generator takes
/// 4 KiB of kernel randomness at a time and hands out 16 bytes per id.
public enum EventID {
    private static let pool = Mutex(RandomPool())

    /// A new random UUID (RFC 9562 version 4).
    public static func random() -> UUID {
        var bytes = pool.withLock { $0.next16() }
        bytes.6 = (bytes.6 & 0x0F) | 0x40
        bytes.8 = (bytes.8 & 0x3F) | 0x80
        return UUID(uuid: bytes)
    }

    private struct RandomPool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var index = 4096

        mutating func next16() -> uuid_t {
            if index + 16 > buffer.count { refill() }
            defer { index += 16 }
            return buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: index, as: uuid_t.self) }
        }

        /// The kernel's random source, opened once.
        var urandom: Int32 = -1

        mutating func refill() {
            #if canImport(Glibc)
            if urandom < 0 { urandom = open("/dev/urandom", O_RDONLY | O_CLOEXEC) }
            let filled = urandom < 0 ? -1 : buffer.withUnsafeMutableBytes { read(urandom, $0.baseAddress!, $0.count) }
            #else
            let filled = -1
            #endif
            if filled != buffer.count {
                var generator = SystemRandomNumberGenerator()
                buffer.withUnsafeMutableBytes { raw in
                    for i in stride(from: 0, to: raw.count, by: 8) {
                        raw.storeBytes(of: generator.next(), toByteOffset: i, as: UInt64.self)
                    }
                }
            }
            index = 0
        }
    }
}
