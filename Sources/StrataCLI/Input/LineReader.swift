#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import StrataJSONShapes
import StrataJSON

/// Reads lines from a file descriptor in 64 KiB chunks, holding at most one line and one chunk.
struct LineReader {
    private let fd: Int32
    private let maxLineBytes: Int
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    private var chunkStart = 0
    private var chunkEnd = 0
    private var finished = false
    /// The 1-based number of the line last returned.
    private(set) var lineNumber = 0

    init(fd: Int32, maxLineBytes: Int) {
        self.fd = fd
        self.maxLineBytes = maxLineBytes
    }

    /// The next line without its line break (`\n` or `\r\n`), or nil at the end of input.
    mutating func next() throws(InputProblem) -> [UInt8]? {
        var line: [UInt8] = []
        while true {
            if chunkStart == chunkEnd {
                if finished { break }
                try fill()
                if chunkStart == chunkEnd { break }
            }
            if let newline = chunk[chunkStart..<chunkEnd].firstIndex(of: 0x0A) {
                line.append(contentsOf: chunk[chunkStart..<newline])
                chunkStart = newline + 1
                lineNumber += 1
                return trimmed(line)
            }
            line.append(contentsOf: chunk[chunkStart..<chunkEnd])
            chunkStart = chunkEnd
            if line.count > maxLineBytes {
                throw InputProblem("line \(lineNumber + 1) is longer than \(maxLineBytes) bytes")
            }
        }
        if line.isEmpty { return nil }
        lineNumber += 1
        return trimmed(line)
    }

    private func trimmed(_ line: [UInt8]) -> [UInt8] {
        if line.last == 0x0D { return Array(line.dropLast()) }
        return line
    }

    private mutating func fill() throws(InputProblem) {
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw InputProblem("reading standard input failed: \(String(cString: strerror(errno)))")
            }
            chunkStart = 0
            chunkEnd = n
            if n == 0 { finished = true }
            return
        }
    }
}
