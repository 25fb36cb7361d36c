import CZlib
import Glibc
import StrataStorage

/// Gzip compression of sealed segments (docs/FORMAT.md, "Compressed segments").
///
/// A `.seg.gz` file is a standard gzip file (`zcat` and `gzip -t` read it) holding the segment's
/// exact bytes; readers decompress it whole and treat the bytes like a mapped segment.
enum SegmentCompression {
    private static let chunkSize = 1 << 20

    /// Compresses the sealed segment at `path` (`….seg`) to `….seg.gz` and removes the original.
    ///
    /// Crash-safe: the gzip file is written as `….seg.gz.tmp`, fsynced and renamed, the directory
    /// fsynced, and only then is the `.seg` removed. After a crash either file may remain; both
    /// hold the same segment.
    ///
    /// Retention may drop the segment while it is being compressed. `gate` runs the rename and
    /// returns `false` (without renaming) when the segment was dropped in this process; and when
    /// the plain file is found gone after the rename (dropped by another process), the new
    /// `.seg.gz` is removed too. Either way no dropped segment comes back.
    /// - Returns: the path of the `.seg.gz` file, or `nil` when the segment was dropped.
    @discardableResult
    static func compress(segmentAt path: String, fileSystem: any FileSystem = POSIXFileSystem(),
                         gate: (_ rename: () throws -> Void) throws -> Bool = { rename in try rename(); return true }) throws -> String? {
        let output = path + ".gz"
        let temporary = output + ".tmp"
        let input = try FileError.run { try fileSystem.open(path, mode: .readOnly) }
        defer { input.close() }

        var headerBytes = [UInt8](repeating: 0, count: SegmentHeader.size)
        let headerRead = try headerBytes.withUnsafeMutableBytes { buffer in try FileError.run { try input.read(into: buffer, at: 0) } }
        _ = try headerBytes.withUnsafeBytes {
            try SegmentHeader(decoding: UnsafeRawBufferPointer(rebasing: $0[0..<headerRead]), path: path)
        }

        let out = try FileError.run { try fileSystem.open(temporary, mode: .truncate) }
        do {
            try deflateFile(from: input, to: out)
            try FileError.run { try out.sync() }
            out.close()
        } catch {
            out.close()
            try? fileSystem.remove(temporary)
            throw error
        }
        let published = try gate {
            try FileError.run { try fileSystem.rename(temporary, to: output) }
        }
        guard published else {
            try? fileSystem.remove(temporary)
            return nil
        }
        let directory = parentDirectory(of: path)
        try FileError.run { try fileSystem.syncDirectory(directory) }
        do {
            try fileSystem.remove(path)
        } catch {
            guard error.code == ENOENT else { throw FileError(error) }
            // Retention in another process dropped the segment meanwhile.
            try? fileSystem.remove(output)
            try FileError.run { try fileSystem.syncDirectory(directory) }
            return nil
        }
        try FileError.run { try fileSystem.syncDirectory(directory) }
        return output
    }

    /// The segment bytes stored in the gzip file at `path`, checked by gzip's CRC-32 and length
    /// trailer and by the segment header.
    static func decompress(path: String, fileSystem: any FileSystem = POSIXFileSystem()) throws -> [UInt8] {
        let compressed = try FileError.run { try fileSystem.readFile(path) }

        var result: [UInt8] = []
        if compressed.count >= 18 {
            // The gzip trailer's ISIZE (size mod 2^32) is a good capacity hint; never trusted beyond that.
            let hint = compressed.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: $0.count - 4, as: UInt32.self)) }
            result.reserveCapacity(Int(Swift.min(hint, 1 << 30)))
        }
        try inflate(compressed, path: path, into: &result)
        _ = try result.withUnsafeBytes { try SegmentHeader(decoding: $0, path: path) }
        return result
    }

    // MARK: - zlib

    private static func deflateFile(from input: any StorageFile, to output: any StorageFile) throws {
        let outputPath = output.path
        var stream = z_stream()
        // windowBits 15 + 16: a gzip wrapper instead of zlib's.
        let status = deflateInit2_(
            &stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
            zlibVersion(), Int32(MemoryLayout<z_stream>.size)
        )
        guard status == Z_OK else { throw zlibError(path: outputPath, operation: "deflateInit2", status: status, stream: stream) }
        defer { deflateEnd(&stream) }

        var inBuffer = [UInt8](repeating: 0, count: chunkSize)
        var outBuffer = [UInt8](repeating: 0, count: chunkSize)
        var offset = 0
        var finished = false
        while !finished {
            let count = try inBuffer.withUnsafeMutableBytes { buffer in try FileError.run { try input.read(into: buffer, at: offset) } }
            offset += count
            let flush = count < chunkSize ? Z_FINISH : Z_NO_FLUSH
            try inBuffer.withUnsafeMutableBufferPointer { inPointer in
                stream.next_in = inPointer.baseAddress
                stream.avail_in = UInt32(count)
                repeat {
                    let produced = try outBuffer.withUnsafeMutableBufferPointer { outPointer -> Int in
                        stream.next_out = outPointer.baseAddress
                        stream.avail_out = UInt32(outPointer.count)
                        let status = deflate(&stream, flush)
                        guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                            throw zlibError(path: outputPath, operation: "deflate", status: status, stream: stream)
                        }
                        if status == Z_STREAM_END { finished = true }
                        return outPointer.count - Int(stream.avail_out)
                    }
                    try outBuffer.withUnsafeBytes {
                        let chunk = UnsafeRawBufferPointer(rebasing: $0[0..<produced])
                        try FileError.run { try output.write(chunk, at: Int(stream.total_out) - produced) }
                    }
                } while stream.avail_out == 0 || (flush == Z_FINISH && !finished)
            }
        }
    }

    private static func inflate(_ compressed: [UInt8], path: String, into result: inout [UInt8]) throws {
        var stream = z_stream()
        let status = inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw zlibError(path: path, operation: "inflateInit2", status: status, stream: stream) }
        defer { inflateEnd(&stream) }

        var input = compressed
        var outBuffer = [UInt8](repeating: 0, count: chunkSize)
        try input.withUnsafeMutableBufferPointer { inPointer in
            stream.next_in = inPointer.baseAddress
            stream.avail_in = UInt32(inPointer.count)
            while true {
                let (status, produced) = outBuffer.withUnsafeMutableBufferPointer { outPointer -> (Int32, Int) in
                    stream.next_out = outPointer.baseAddress
                    stream.avail_out = UInt32(outPointer.count)
                    let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return (status, outPointer.count - Int(stream.avail_out))
                }
                result.append(contentsOf: outBuffer[0..<produced])
                switch status {
                case Z_STREAM_END:
                    // gzip allows several members one after the other (`cat a.gz b.gz`).
                    if stream.avail_in == 0 { return }
                    let reset = inflateReset(&stream)
                    guard reset == Z_OK else { throw zlibError(path: path, operation: "inflateReset", status: reset, stream: stream) }
                case Z_OK:
                    continue
                case Z_BUF_ERROR where stream.avail_in == 0:
                    throw FileError.corrupt(path: path, offset: Int(stream.total_in), reason: "gzip data ends early (file truncated)")
                default:
                    throw zlibError(path: path, operation: "inflate", status: status, stream: stream)
                }
            }
        }
    }

    private static func zlibError(path: String, operation: String, status: Int32, stream: z_stream) -> FileError {
        let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
        switch status {
        case Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR:
            return .corrupt(path: path, offset: Int(stream.total_in), reason: "\(operation): \(message)")
        case Z_MEM_ERROR:
            return .io(path: path, operation: operation, errno: ENOMEM)
        default:
            return .io(path: path, operation: "\(operation) (\(message))", errno: EIO)
        }
    }

    private static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
