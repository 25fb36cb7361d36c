import CZlib
import Strata

/// A streaming gzip compressor (system zlib, as StrataLog's segment compression). The z_stream
/// lives at a fixed address: zlib keeps a pointer back to it between calls.
final class GzipDeflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private var chunk = [UInt8](repeating: 0, count: 256 * 1024)
    private(set) var finished = false

    /// - Parameter level: 1 (fastest) … 9 (smallest).
    init(level: Int32) throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // windowBits 15 + 16: a gzip wrapper instead of zlib's.
        let status = deflateInit2_(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                   zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate()
            throw StrataError.io(path: "", operation: "deflateInit2", reason: "zlib status \(status)")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses `input` and appends what zlib produces to `out`; `finish` ends the gzip member
    /// (writing its CRC-32 and length trailer).
    func compress(_ input: UnsafeRawBufferPointer, finish: Bool, into out: inout [UInt8]) throws {
        precondition(!finished, "compressing after the gzip stream was finished")
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = UInt32(input.count)
        let flush = finish ? Z_FINISH : Z_NO_FLUSH
        while true {
            let (status, produced) = chunk.withUnsafeMutableBufferPointer { buffer -> (Int32, Int) in
                stream.pointee.next_out = buffer.baseAddress
                stream.pointee.avail_out = UInt32(buffer.count)
                let status = deflate(stream, flush)
                return (status, buffer.count - Int(stream.pointee.avail_out))
            }
            guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                throw StrataError.io(path: "", operation: "deflate", reason: "zlib status \(status)")
            }
            out.append(contentsOf: chunk[0..<produced])
            if status == Z_STREAM_END {
                finished = true
                return
            }
            if !finish && stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 { return }
            if status == Z_BUF_ERROR && stream.pointee.avail_in == 0 && !finish { return }
        }
    }
}

/// A streaming gzip decompressor that accepts several members one after the other
/// (`cat a.gz b.gz`), as gzip and DuckDB do.
final class GzipInflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private var chunk = [UInt8](repeating: 0, count: 256 * 1024)
    private let path: String
    /// Whether the last member ended exactly at the end of the input given so far.
    private(set) var atMemberEnd = true

    init(path: String) throws {
        self.path = path
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = inflateInit2_(stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate()
            throw StrataError.io(path: path, operation: "inflateInit2", reason: "zlib status \(status)")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Decompresses `input`, appending the output to `out`.
    /// - Throws: ``StrataError/corruption(path:offset:reason:)`` for data that is not gzip.
    func decompress(_ input: UnsafeRawBufferPointer, into out: inout [UInt8]) throws {
        guard input.count > 0 else { return }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = UInt32(input.count)
        while stream.pointee.avail_in > 0 {
            if atMemberEnd && stream.pointee.total_in > 0 {
                let reset = inflateReset(stream)
                guard reset == Z_OK else { throw corrupt("inflateReset: zlib status \(reset)") }
            }
            atMemberEnd = false
            let (status, produced) = chunk.withUnsafeMutableBufferPointer { buffer -> (Int32, Int) in
                stream.pointee.next_out = buffer.baseAddress
                stream.pointee.avail_out = UInt32(buffer.count)
                let status = inflate(stream, Z_NO_FLUSH)
                return (status, buffer.count - Int(stream.pointee.avail_out))
            }
            out.append(contentsOf: chunk[0..<produced])
            switch status {
            case Z_STREAM_END:
                atMemberEnd = true
            case Z_OK:
                continue
            case Z_BUF_ERROR where stream.pointee.avail_in == 0:
                return
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                throw corrupt("not gzip data: \(message)")
            }
        }
    }

    private func corrupt(_ reason: String) -> StrataError {
        .corruption(path: path, offset: Int64(stream.pointee.total_in), reason: reason)
    }
}
