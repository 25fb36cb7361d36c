import Foundation
import Strata
import StrataStorage
#if canImport(Glibc)
import Glibc
#endif

/// A sealed segment's index file, `{first}.idx` (docs/FORMAT.md, "Segment index file"): the
/// record offset of each of its positions, its event ids sorted by hash and its stream entries
/// sorted by (stream hash, revision), and its ids' bloom filter, all mapped from the file rather
/// than held in the heap. Immutable once written; derived from its segment, so a
/// missing or damaged one is rebuilt from it.
final class SegmentIndexFile: @unchecked Sendable {
    // Safe to share: every stored property is immutable; the mapping is read-only and lives
    // until deinit, which runs only when no segment entry refers to the file any more.
    static let magic: [UInt8] = Array("STRATASI".utf8)
    static let version: UInt32 = 1
    static let headerSize = 64
    static let fileExtension = ".idx"

    let path: String
    let generation: Int
    let firstPosition: UInt64
    /// The segment's committed end when the file was built.
    let end: Int
    let newestRecordedAt: Int64
    /// Position slots: the segment's positions are `firstPosition ..< firstPosition + slotCount`.
    let slotCount: Int
    let idCount: Int
    let streamEntryCount: Int
    /// The id bloom filter's blocks, in the mapping.
    private let bloomBlocks: UnsafeRawBufferPointer
    /// The stream-name bloom filter's blocks, in the mapping.
    private let streamBloomBlocks: UnsafeRawBufferPointer
    /// The file, closed once mapped: kept to unmap it.
    private let file: any StorageFile
    private let mapping: UnsafeRawBufferPointer
    private let idsStart: Int
    private let streamsStart: Int

    private init(path: String, file: any StorageFile, mapping: UnsafeRawBufferPointer, header: Header) {
        self.path = path
        self.file = file
        self.mapping = mapping
        self.generation = Int(header.generation)
        self.firstPosition = header.firstPosition
        self.end = Int(header.end)
        self.newestRecordedAt = header.newestRecordedAt
        self.slotCount = Int(header.slots)
        self.idCount = Int(header.ids)
        self.streamEntryCount = Int(header.streams)
        let layout = Layout(header)
        self.idsStart = layout.ids
        self.streamsStart = layout.streams
        self.bloomBlocks = UnsafeRawBufferPointer(rebasing: mapping[layout.bloom..<layout.streamBloom])
        self.streamBloomBlocks = UnsafeRawBufferPointer(rebasing: mapping[layout.streamBloom..<layout.total])
    }

    deinit {
        // The descriptor was closed right after mapping (a store of 100 M events has ~450
        // sealed segments: their index files would double its open descriptors); the mapping
        // outlives it.
        if let base = mapping.baseAddress { file.unmap(base, count: mapping.count) }
    }

    /// The file name of a segment's index file.
    static func fileName(firstPosition: UInt64, generation: Int) -> String {
        let digits = String(firstPosition)
        return String(repeating: "0", count: 20 - digits.count) + digits + (generation > 0 ? ".\(generation)" : "") + fileExtension
    }

    /// The first position and generation an index file's name encodes, or nil.
    static func parseName(_ name: String) -> (firstPosition: UInt64, generation: Int)? {
        guard name.hasSuffix(fileExtension) else { return nil }
        // The same stem as a segment's name: reuse its parser.
        guard let parsed = SegmentFile.parseName(String(name.dropLast(fileExtension.count)) + SegmentFile.fileExtension) else { return nil }
        return (parsed.firstPosition, parsed.generation)
    }

    // MARK: - Lookups (on the mapping)

    /// The record offset of slot `i` (position `firstPosition + i`); 0 when a scavenge removed it.
    @inline(__always) func offset(at i: Int) -> UInt32 {
        UInt32(littleEndian: mapping.loadUnaligned(fromByteOffset: Layout.offsetsStart + 4 * i, as: UInt32.self))
    }

    /// The offset of the last stored event, or nil when none.
    var lastEventOffset: UInt32? {
        var i = slotCount - 1
        while i >= 0 { let o = offset(at: i); if o != 0 { return o }; i -= 1 }
        return nil
    }

    /// False when no id of the segment has this hash (its bloom filter rules it out: one cache line).
    func mayContainID(hash: UInt64) -> Bool { IDBloom.mayContain(hash, blocks: bloomBlocks) }

    /// Touches the bloom blocks of these id hashes (see `IDBloom.prefetch`); returns a value
    /// the caller must consume so that the loads are kept.
    func prefetchIDs(_ hashes: [UInt64]) -> UInt64 { IDBloom.prefetch(hashes, blocks: bloomBlocks) }

    /// Calls `body` with each position whose id hash is `hash`, until it returns true.
    func positions(ofIDHash hash: UInt64, where body: (UInt64) throws -> Bool) rethrows -> Bool {
        guard mayContainID(hash: hash) else { return false }
        var lo = 0
        var hi = idCount
        while lo < hi {
            let mid = (lo + hi) / 2
            if idHash(mid) < hash { lo = mid + 1 } else { hi = mid }
        }
        while lo < idCount, idHash(lo) == hash {
            if try body(UInt64(littleEndian: mapping.loadUnaligned(fromByteOffset: idsStart + 16 * lo + 8, as: UInt64.self))) { return true }
            lo += 1
        }
        return false
    }

    @inline(__always) private func idHash(_ i: Int) -> UInt64 {
        UInt64(littleEndian: mapping.loadUnaligned(fromByteOffset: idsStart + 16 * i, as: UInt64.self))
    }

    @inline(__always) private func streamKey(_ i: Int) -> (hash: UInt64, revision: UInt64) {
        let at = streamsStart + 24 * i
        return (UInt64(littleEndian: mapping.loadUnaligned(fromByteOffset: at, as: UInt64.self)),
                UInt64(littleEndian: mapping.loadUnaligned(fromByteOffset: at + 8, as: UInt64.self)))
    }

    /// False when no event of the segment belongs to a stream with this hash (one cache line).
    func mayContainStream(hash: UInt64) -> Bool { IDBloom.mayContain(hash, blocks: streamBloomBlocks) }

    /// The (revision, position) entries of the stream with this hash whose revision lies in
    /// `revisions`, in revision order (descending when `backward`), at most `limit`.
    func streamEntries(hash: UInt64, revisions: ClosedRange<UInt64>, backward: Bool, limit: Int) -> [(revision: UInt64, position: UInt64)] {
        guard limit > 0, streamEntryCount > 0, mayContainStream(hash: hash) else { return [] }
        // The first entry whose key is above (hash, revision), or not below it when `orEqual`.
        func bound(_ hash: UInt64, _ revision: UInt64, above: Bool) -> Int {
            var lo = 0
            var hi = streamEntryCount
            while lo < hi {
                let mid = (lo + hi) / 2
                let k = streamKey(mid)
                let before = k.hash < hash || (k.hash == hash && (above ? k.revision <= revision : k.revision < revision))
                if before { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        var out: [(revision: UInt64, position: UInt64)] = []
        func position(_ i: Int) -> UInt64 {
            UInt64(littleEndian: mapping.loadUnaligned(fromByteOffset: streamsStart + 24 * i + 16, as: UInt64.self))
        }
        if backward {
            var i = bound(hash, revisions.upperBound, above: true) - 1
            while i >= 0, out.count < limit {
                let k = streamKey(i)
                guard k.hash == hash, k.revision >= revisions.lowerBound else { break }
                out.append((k.revision, position(i)))
                i -= 1
            }
        } else {
            var i = bound(hash, revisions.lowerBound, above: false)
            while i < streamEntryCount, out.count < limit {
                let k = streamKey(i)
                guard k.hash == hash, k.revision <= revisions.upperBound else { break }
                out.append((k.revision, position(i)))
                i += 1
            }
        }
        return out
    }

    // MARK: - Building

    /// The bytes of the index file of a segment's records up to `end`, read (CRC-checked) from
    /// `bytes`. Throws corruption when the segment's records do not decode.
    static func build(segmentBytes bytes: UnsafeRawBufferPointer, end: Int, firstPosition: UInt64, generation: Int, path: String) throws -> [UInt8] {
        var offsets: [UInt32] = []
        var ids: [(UInt64, UInt64)] = []
        var streams: [(UInt64, UInt64, UInt64)] = []
        var newest: Int64 = 0
        let outcome = try RecordDecoder.scan(bytes, from: SegmentHeader.size, until: end, inspectTail: false) { view in
            guard view.kind == .event else { return }
            let slot = firstPosition + UInt64(offsets.count)
            guard view.position >= slot else {
                throw StrataError.corruption(path: path, offset: Int64(view.offset), reason: "position \(view.position) out of order while indexing the segment")
            }
            if view.position > slot { offsets.append(contentsOf: repeatElement(0, count: Int(view.position - slot))) }
            offsets.append(UInt32(view.offset))
            ids.append((IDTable.hash(view.id), view.position))
            streams.append((StreamNameHash.hash(view.stream), view.revision, view.position))
            newest = view.recordedAtMicros
        }
        if let problem = outcome.corruption(path: path, sealed: true) { throw StrataErrorBridge.convert(problem) }
        guard outcome.committedEnd == end else {
            throw StrataError.corruption(path: path, offset: Int64(outcome.committedEnd), reason: "the segment's committed records end at \(outcome.committedEnd), not at \(end)")
        }
        ids.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        streams.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        let bloom = IDBloom.build(hashes: ids.lazy.map(\.0), count: ids.count)
        // Sized by entries (an upper bound of the streams), so the header needs no count of its own.
        let streamBloom = IDBloom.build(hashes: streams.lazy.map(\.0), count: streams.count)
        let header = Header(generation: UInt32(generation), firstPosition: firstPosition, end: UInt64(end), newestRecordedAt: newest,
                            slots: UInt32(offsets.count), ids: UInt32(ids.count), streams: UInt32(streams.count),
                            bloomBlocks: UInt32(bloom.count / IDBloom.wordsPerBlock), bodyCRC: 0)
        let layout = Layout(header)
        var out = [UInt8](repeating: 0, count: layout.total)
        out.withUnsafeMutableBytes { raw in
            for (i, o) in offsets.enumerated() { raw.storeBytes(of: o.littleEndian, toByteOffset: Layout.offsetsStart + 4 * i, as: UInt32.self) }
            for (i, e) in ids.enumerated() {
                raw.storeBytes(of: e.0.littleEndian, toByteOffset: layout.ids + 16 * i, as: UInt64.self)
                raw.storeBytes(of: e.1.littleEndian, toByteOffset: layout.ids + 16 * i + 8, as: UInt64.self)
            }
            for (i, e) in streams.enumerated() {
                raw.storeBytes(of: e.0.littleEndian, toByteOffset: layout.streams + 24 * i, as: UInt64.self)
                raw.storeBytes(of: e.1.littleEndian, toByteOffset: layout.streams + 24 * i + 8, as: UInt64.self)
                raw.storeBytes(of: e.2.littleEndian, toByteOffset: layout.streams + 24 * i + 16, as: UInt64.self)
            }
            for (i, word) in bloom.enumerated() { raw.storeBytes(of: word.littleEndian, toByteOffset: layout.bloom + 8 * i, as: UInt64.self) }
            for (i, word) in streamBloom.enumerated() {
                raw.storeBytes(of: word.littleEndian, toByteOffset: layout.streamBloom + 8 * i, as: UInt64.self)
            }
            let bodyCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[headerSize...]))
            var h = header
            h.bodyCRC = bodyCRC
            h.encode(into: raw)
        }
        return out
    }

    /// Writes an index file atomically and durably: a temporary file of this process's own
    /// (another process may index the same segment), fsync, rename, fsync of the directory.
    static func write(_ bytes: [UInt8], to path: String, fileSystem: any FileSystem) throws {
        let suffix = ".\(getpid()).\(EventID.random().uuidString.prefix(8)).tmp"
        try StrataErrorBridge.run { try fileSystem.writeFileAtomically(path, bytes, temporarySuffix: suffix) }
    }

    // MARK: - Opening

    /// Why an index file was not used.
    enum Rejection: Error, Equatable {
        case missing
        case damaged(String)
    }

    /// Opens and checks an index file (docs/FORMAT.md, "Checks"): every byte is read once
    /// through `pread` to check its CRCs, so the check does not make the mapping resident.
    static func open(path: String, firstPosition: UInt64, generation: Int, end: Int?, fileSystem: any FileSystem) -> Result<SegmentIndexFile, Rejection> {
        guard fileSystem.exists(path) else { return .failure(.missing) }
        let file: any StorageFile
        do { file = try fileSystem.open(path, mode: .readOnly) } catch { return .failure(.damaged("cannot open: \(error)")) }
        do {
            let size = try file.size()
            guard size >= headerSize else { throw Rejection.damaged("shorter than its header") }
            var head = [UInt8](repeating: 0, count: headerSize)
            try head.withUnsafeMutableBytes { raw in
                guard try file.read(into: raw, at: 0) == headerSize else { throw Rejection.damaged("short read") }
            }
            let header = try head.withUnsafeBytes { try Header(decoding: $0) }
            guard header.generation == UInt32(generation), header.firstPosition == firstPosition else {
                throw Rejection.damaged("describes another segment")
            }
            if let end, header.end != UInt64(end) { throw Rejection.damaged("describes the segment up to \(header.end), not \(end)") }
            let layout = Layout(header)
            guard layout.total == size else { throw Rejection.damaged("\(size) bytes, its counts say \(layout.total)") }
            // Check the body's CRC in chunks.
            var crc: UInt32 = 0
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            var at = headerSize
            try chunk.withUnsafeMutableBytes { raw in
                while at < size {
                    let want = Swift.min(raw.count, size - at)
                    let n = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<want]), at: at)
                    guard n > 0 else { throw Rejection.damaged("short read") }
                    let got = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                    crc = CRC32C.checksum(got, continuing: crc)
                    at += n
                }
            }
            guard crc == header.bodyCRC else { throw Rejection.damaged("body CRC mismatch") }
            let mapping = try file.map(size: size)
            file.close()
            return .success(SegmentIndexFile(path: path, file: file, mapping: mapping, header: header))
        } catch let rejection as Rejection {
            file.close()
            return .failure(rejection)
        } catch {
            file.close()
            return .failure(.damaged("\(error)"))
        }
    }

    // MARK: - Layout

    struct Header {
        var generation: UInt32
        var firstPosition: UInt64
        var end: UInt64
        var newestRecordedAt: Int64
        var slots: UInt32
        var ids: UInt32
        var streams: UInt32
        var bloomBlocks: UInt32
        var bodyCRC: UInt32

        init(generation: UInt32, firstPosition: UInt64, end: UInt64, newestRecordedAt: Int64, slots: UInt32, ids: UInt32,
             streams: UInt32, bloomBlocks: UInt32, bodyCRC: UInt32) {
            self.generation = generation
            self.firstPosition = firstPosition
            self.end = end
            self.newestRecordedAt = newestRecordedAt
            self.slots = slots
            self.ids = ids
            self.streams = streams
            self.bloomBlocks = bloomBlocks
            self.bodyCRC = bodyCRC
        }

        init(decoding raw: UnsafeRawBufferPointer) throws {
            guard Array(raw[0..<8]) == SegmentIndexFile.magic else { throw Rejection.damaged("not a Strata index file") }
            func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
            func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
            guard u32(8) == SegmentIndexFile.version else { throw Rejection.damaged("version \(u32(8))") }
            guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<60])) == u32(60) else { throw Rejection.damaged("header CRC mismatch") }
            self.init(generation: u32(12), firstPosition: u64(16), end: u64(24), newestRecordedAt: Int64(bitPattern: u64(32)),
                      slots: u32(40), ids: u32(44), streams: u32(48), bloomBlocks: u32(52), bodyCRC: u32(56))
            guard bloomBlocks >= 1 else { throw Rejection.damaged("no bloom block") }
        }

        func encode(into raw: UnsafeMutableRawBufferPointer) {
            raw.copyBytes(from: SegmentIndexFile.magic)
            raw.storeBytes(of: SegmentIndexFile.version.littleEndian, toByteOffset: 8, as: UInt32.self)
            raw.storeBytes(of: generation.littleEndian, toByteOffset: 12, as: UInt32.self)
            raw.storeBytes(of: firstPosition.littleEndian, toByteOffset: 16, as: UInt64.self)
            raw.storeBytes(of: end.littleEndian, toByteOffset: 24, as: UInt64.self)
            raw.storeBytes(of: UInt64(bitPattern: newestRecordedAt).littleEndian, toByteOffset: 32, as: UInt64.self)
            raw.storeBytes(of: slots.littleEndian, toByteOffset: 40, as: UInt32.self)
            raw.storeBytes(of: ids.littleEndian, toByteOffset: 44, as: UInt32.self)
            raw.storeBytes(of: streams.littleEndian, toByteOffset: 48, as: UInt32.self)
            raw.storeBytes(of: bloomBlocks.littleEndian, toByteOffset: 52, as: UInt32.self)
            raw.storeBytes(of: bodyCRC.littleEndian, toByteOffset: 56, as: UInt32.self)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<60]))
            raw.storeBytes(of: crc.littleEndian, toByteOffset: 60, as: UInt32.self)
        }
    }

    /// Where each section starts, from the header's counts.
    struct Layout {
        static let offsetsStart = SegmentIndexFile.headerSize
        let ids: Int
        let streams: Int
        let bloom: Int
        let streamBloom: Int
        let total: Int

        init(_ h: Header) {
            let offsetsEnd = Layout.offsetsStart + 4 * Int(h.slots)
            ids = (offsetsEnd + 7) & ~7
            streams = ids + 16 * Int(h.ids)
            bloom = streams + 24 * Int(h.streams)
            streamBloom = bloom + 64 * Int(h.bloomBlocks)
            total = streamBloom + 64 * IDBloom.blockCount(for: Int(h.streams))
        }
    }
}

/// A blocked bloom filter of 64-bit hashes — event ids', and stream names' (docs/FORMAT.md,
/// "Bloom filter"): about 10 bits per key in 64-byte blocks, so that a lookup touches one cache line.
enum IDBloom {
    static let wordsPerBlock = 8

    /// Blocks for `count` keys: about 10 bits each, at least one block.
    static func blockCount(for count: Int) -> Int { Swift.max(1, (count * 10 + 511) / 512) }

    /// The filter's little-endian words for `count` hashes.
    static func build<S: Sequence>(hashes: S, count: Int) -> [UInt64] where S.Element == UInt64 {
        let blocks = blockCount(for: count)
        var words = [UInt64](repeating: 0, count: blocks * wordsPerBlock)
        for h in hashes {
            let base = block(of: h, count: blocks) * wordsPerBlock
            let g = h &* 0x9E37_79B9_7F4A_7C15
            for j in 0..<7 {
                let bit = Int((g >> UInt64(9 * j)) & 511)
                words[base + bit >> 6] |= 1 << UInt64(bit & 63)
            }
        }
        return words
    }

    /// The block of a hash among `count` blocks: the high 32 bits scaled to the count
    /// (multiply and shift; no division on the lookup path).
    @inline(__always) static func block(of h: UInt64, count: Int) -> Int {
        Int(((h >> 32) &* UInt64(count)) >> 32)
    }

    /// Touches the block of each hash, so that the cache misses of a batch's checks overlap
    /// (the loads are independent) and the checks that follow hit the cache.
    static func prefetch(_ hashes: [UInt64], blocks: UnsafeRawBufferPointer) -> UInt64 {
        let blockCount = blocks.count / (8 * wordsPerBlock)
        var sink: UInt64 = 0
        for h in hashes { sink &+= blocks.loadUnaligned(fromByteOffset: block(of: h, count: blockCount) * 8 * wordsPerBlock, as: UInt64.self) }
        return sink
    }

    /// False when the hash is certainly not in the filter whose blocks are `blocks`.
    @inline(__always) static func mayContain(_ h: UInt64, blocks: UnsafeRawBufferPointer) -> Bool {
        let blockCount = blocks.count / (8 * wordsPerBlock)
        let base = block(of: h, count: blockCount) * 8 * wordsPerBlock
        let g = h &* 0x9E37_79B9_7F4A_7C15
        for j in 0..<7 {
            let bit = Int((g >> UInt64(9 * j)) & 511)
            let word = UInt64(littleEndian: blocks.loadUnaligned(fromByteOffset: base + 8 * (bit >> 6), as: UInt64.self))
            if word & (1 << UInt64(bit & 63)) == 0 { return false }
        }
        return true
    }
}

/// The stable 64-bit hash of a stream name in index files: FNV-1a over its UTF-8 bytes,
/// finished with the SplitMix64 mixer (Swift's `Hasher` is seeded per process).
enum StreamNameHash {
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        h ^= h >> 30
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 27
        h = h &* 0x94D0_49BB_1331_11EB
        h ^= h >> 31
        return h
    }

    static func hash(_ name: String) -> UInt64 {
        var name = name
        return name.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }
}
