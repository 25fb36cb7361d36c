#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A buffered writer to a file descriptor: `print` and `FileHandle` cost a call (and a lock)
/// per line, which dominates when `read` prints millions of events. One command runs at a time
/// and writes from one task, so the shared instances take no lock.
public final class StandardOutput {
    /// Standard output.
    nonisolated(unsafe) public static let stdout = StandardOutput(fd: 1)
    /// Standard error.
    nonisolated(unsafe) public static let stderr = StandardOutput(fd: 2)

    private let fd: Int32
    private var buffer: [UInt8] = []
    /// Whether the reader went away (EPIPE): commands stop producing output.
    public private(set) var readerGone = false
    private let capacity = 64 * 1024

    /// A writer to the open descriptor `fd`.
    public init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(capacity)
    }

    /// Whether the descriptor is a terminal.
    public var isTerminal: Bool { isatty(fd) == 1 }

    /// Appends bytes; writes them out once the buffer is full.
    public func write(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= capacity { flush() }
    }

    /// Appends a string; writes it out once the buffer is full.
    public func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= capacity { flush() }
    }

    /// Writes a line and, when `flushing`, sends it at once (for `tail`).
    public func writeLine(_ bytes: [UInt8], flushing: Bool = false) {
        buffer.append(contentsOf: bytes)
        buffer.append(0x0A)
        if flushing || buffer.count >= capacity { flush() }
    }

    /// Writes a line of text.
    public func writeLine(_ text: String, flushing: Bool = false) {
        buffer.append(contentsOf: text.utf8)
        buffer.append(0x0A)
        if flushing || buffer.count >= capacity { flush() }
    }

    /// Sends everything buffered.
    public func flush() {
        var offset = 0
        while offset < buffer.count {
            let n = buffer.withUnsafeBytes { raw in
                #if canImport(Glibc)
                Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                #else
                Darwin.write(fd, raw.baseAddress! + offset, raw.count - offset)
                #endif
            }
            if n < 0 {
                if errno == EINTR { continue }
                // EPIPE (the reader went away, as with `strata read '$all' | head`) or another
                // failure: nothing more can be delivered.
                readerGone = true
                break
            }
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
