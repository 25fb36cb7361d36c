import Foundation
import Strata
#if canImport(Glibc)
import Glibc
#endif

/// Reads the lines of one file, plain or gzip (a name ending `.gz`: one gzip member), 1 MiB at a
/// time: export files (`.jsonl`, `.jsonl.gz`), and the seed packages' JSON Lines files the
/// importers of `StrataMigration` read.
package struct LineFileReader {
    package let path: String
    private let fd: Int32
    private var inflater: GzipInflater?
    private var raw = [UInt8](repeating: 0, count: 1 << 20)
    private var text: [UInt8] = []
    private var start = 0
    private var ended = false
    /// The 1-based number of the line last returned.
    package private(set) var lineNumber = 0

    /// Opens the file.
    /// - Throws: ``StrataError/io(path:operation:reason:)`` when it cannot be opened.
    package init(path: String) throws {
        self.path = path
        fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StrataError.io(path: path, operation: "open", reason: String(cString: strerror(errno))) }
        if path.hasSuffix(".gz") {
            do { inflater = try GzipInflater(path: path) } catch {
                Glibc.close(fd)
                throw error
            }
        }
    }

    package func close() { Glibc.close(fd) }

    /// The next non-empty line without its newline, or `nil` at the end of the file.
    /// - Throws: ``StrataError/corruption(path:offset:reason:)`` for a gzip file cut short.
    package mutating func next() throws -> ArraySlice<UInt8>? {
        while true {
            if let newline = text[start...].firstIndex(of: 0x0A) {
                let line = text[start..<newline]
                start = newline + 1
                lineNumber += 1
                if line.isEmpty { continue }
                return line
            }
            if ended {
                guard start < text.count else { return nil }
                let line = text[start...]
                start = text.count
                lineNumber += 1
                return line
            }
            if start > 0 {
                text.removeFirst(start)
                start = 0
            }
            try fill()
        }
    }

    private mutating func fill() throws {
        let n = raw.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
        if n < 0 {
            if errno == EINTR { return }
            throw StrataError.io(path: path, operation: "read", reason: String(cString: strerror(errno)))
        }
        if n == 0 {
            ended = true
            if let inflater, !inflater.atMemberEnd {
                throw StrataError.corruption(path: path, offset: 0, reason: "the gzip data ends early (file truncated)")
            }
            return
        }
        if let inflater {
            try raw.withUnsafeBytes { try inflater.decompress(UnsafeRawBufferPointer(rebasing: $0[0..<n]), into: &text) }
        } else {
            text.append(contentsOf: raw[0..<n])
        }
    }
}
