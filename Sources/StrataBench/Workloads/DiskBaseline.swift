import Foundation
import Strata

/// The disk's state in this run: 250 KB written and flushed with `fdatasync` per iteration.
/// Flush latency on these machines swings by 10× for minutes at a time, so durable figures are
/// only comparable next to this one.
enum DiskBaseline {
    static let writeSize = 250_000

    /// Returns iterations per second.
    static func writeFsync(iterations: Int, in parent: String) throws -> Double {
        let scratch = try ScratchDirectory(parent: parent, name: "baseline")
        defer { scratch.remove() }
        let path = scratch.file("baseline.dat")
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw StrataError.io(path: path, operation: "open", reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let buffer = [UInt8](repeating: 0x5A, count: writeSize)
        let start = Stopwatch.now()
        for _ in 0..<iterations {
            var offset = 0
            while offset < buffer.count {
                let n = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw StrataError.io(path: path, operation: "write", reason: String(cString: strerror(errno)))
                }
                offset += n
            }
            guard dataSync(fd) == 0 else {
                throw StrataError.io(path: path, operation: "fdatasync", reason: String(cString: strerror(errno)))
            }
        }
        return Double(iterations) / Stopwatch.seconds(since: start)
    }
}

private func dataSync(_ fd: Int32) -> Int32 {
    #if os(Linux)
    fdatasync(fd)
    #else
    fsync(fd)
    #endif
}
