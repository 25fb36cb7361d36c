import Foundation
import Strata
import StrataStorage
import Testing
@testable import StrataLog

/// Helpers shared by RecordFormatTests and SegmentFileTests, namespaced to stay out of the way
/// of other suites in this test target.
enum FormatTestSupport {
    /// SplitMix64 (from Strata), so a failing case can be replayed from its seed.
    typealias SeededGenerator = SplitMix64

    /// A record's content held in owned values, for building and comparing.
    struct Record: Equatable {
        var kind: RecordKind = .event
        var commit = true
        var position: UInt64 = 1
        var revision: UInt64 = 1
        var recordedAtMicros: Int64 = 1_700_000_000_000_000
        var id = UUID()
        var stream = "order-42"
        var type = "OrderPlaced"
        var contentType = ""
        var metadata: [UInt8] = []
        var data: [UInt8] = Array(#"{"total":12}"#.utf8)

        init() {}

        init(_ view: RecordView) {
            kind = view.kind
            commit = view.isCommit
            position = view.position
            revision = view.revision
            recordedAtMicros = view.recordedAtMicros
            id = view.id
            stream = view.streamName
            type = view.typeName
            contentType = view.contentTypeName
            metadata = Array(view.metadata)
            data = Array(view.data)
        }

        static func random(using rng: inout SeededGenerator, position: UInt64) -> Record {
            var record = Record()
            record.kind = Int.random(in: 0..<5, using: &rng) == 0
                ? [.streamMetadata, .streamSoftDelete, .streamTombstone].randomElement(using: &rng)!
                : .event
            record.commit = Bool.random(using: &rng)
            record.position = record.kind == .event ? position : 0
            record.revision = UInt64.random(in: 0...1_000_000, using: &rng)
            record.recordedAtMicros = Int64.random(in: Int64.min...Int64.max, using: &rng)
            record.id = UUID(uuid: (
                UInt8.random(in: 0...255, using: &rng), UInt8.random(in: 0...255, using: &rng),
                UInt8.random(in: 0...255, using: &rng), UInt8.random(in: 0...255, using: &rng),
                UInt8.random(in: 0...255, using: &rng), UInt8.random(in: 0...255, using: &rng),
                UInt8.random(in: 0...255, using: &rng), UInt8.random(in: 0...255, using: &rng),
                UInt8.random(in: 0...255, using: &rng), UInt8.random(in: 0...255, using: &rng),
                UInt8.random(in: 0...255, using: &rng), UInt8.random(in: 0...255, using: &rng),
                UInt8.random(in: 0...255, using: &rng), UInt8.random(in: 0...255, using: &rng),
                UInt8.random(in: 0...255, using: &rng), UInt8.random(in: 0...255, using: &rng)
            ))
            record.stream = randomText(length: Int.random(in: 1...300, using: &rng), using: &rng)
            record.type = randomText(length: Int.random(in: 0...255, using: &rng), using: &rng)
            record.contentType = Bool.random(using: &rng) ? "" : "application/x-protobuf"
            record.metadata = randomBytes(Int.random(in: 0...64, using: &rng), using: &rng)
            record.data = randomBytes(Int.random(in: 0...2_000, using: &rng), using: &rng)
            return record
        }

        /// Appends the encoded record to `buffer`; returns the offset it starts at.
        @discardableResult
        func encode(into buffer: inout [UInt8]) throws -> Int {
            let offset = buffer.count
            try RecordFields.with(
                kind: kind, commit: commit, position: position, revision: revision,
                recordedAtMicros: recordedAtMicros, id: id, stream: stream, type: type,
                contentType: contentType, metadata: metadata, data: data
            ) { fields in try RecordEncoder.append(fields, to: &buffer) }
            return offset
        }

        var encoded: [UInt8] {
            var buffer: [UInt8] = []
            try! encode(into: &buffer)
            return buffer
        }
    }

    static func randomBytes(_ count: Int, using rng: inout SeededGenerator) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    static func randomText(length: Int, using rng: inout SeededGenerator) -> String {
        String((0..<length).map { _ in "abcdefghijklmnopqrstuvwxyz-0123456789".randomElement(using: &rng)! })
    }

    static func decode(_ bytes: [UInt8], at offset: Int, verifyCRC: Bool = true) -> RecordDecodeResult {
        bytes.withUnsafeBytes { buffer in
            verifyCRC ? RecordDecoder.decode(buffer, at: offset) : RecordDecoder.decodeUnchecked(buffer, at: offset)
        }
    }

    /// The decoded record copied out of the buffer, or nil when `result` is not a record.
    static func record(in result: RecordDecodeResult) -> Record? {
        if case let .record(view) = result { return Record(view) }
        return nil
    }

    static func invalidOffset(of result: RecordDecodeResult) -> Int? {
        if case let .invalid(offset, _) = result { return offset }
        return nil
    }

    static func isEnd(_ result: RecordDecodeResult) -> Bool {
        if case .end = result { return true }
        return false
    }

    static func store<T: FixedWidthInteger>(_ value: T, in bytes: inout [UInt8], at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { for (k, byte) in $0.enumerated() { bytes[offset + k] = byte } }
    }

    /// Recomputes a record's checksum after a test edited its body, so only the edit is wrong.
    static func resealChecksum(_ bytes: inout [UInt8], recordAt offset: Int) {
        let length = Int(bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) })
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(offset + 8)..<(offset + 8 + length)])) }
        store(crc, in: &bytes, at: offset + 4)
    }
}

@Suite("CRC32C and the record format")
struct RecordFormatTests {
    typealias Support = FormatTestSupport

    // MARK: - CRC32C

    @Test("every CRC32C implementation gives the standard check value 0xE3069283 for \"123456789\"")
    func crcCheckValue() {
        let input = Array("123456789".utf8)
        input.withUnsafeBytes { bytes in
            #expect(CRC32C.checksum(bytes) == 0xE306_9283)
            #expect(CRC32C.portableChecksum(bytes) == 0xE306_9283)
            #expect(CRC32C.softwareChecksum(bytes) == 0xE306_9283)
        }
        #expect(CRC32C.checksum(UnsafeRawBufferPointer(start: nil, count: 0)) == 0)
    }

    @Test("this x86-64 machine computes CRC32C with the SSE4.2 instruction")
    func crcUsesHardware() throws {
        #if arch(x86_64)
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        try #require(cpuinfo.contains("sse4_2"), "this CPU has no SSE4.2; nothing to check")
        #expect(CRC32C.isHardwareAccelerated)
        #endif
    }

    @Test("hardware, portable C and pure-Swift CRC32C agree on random buffers of every length 0...600 and every alignment")
    func crcImplementationsAgree() {
        var rng = Support.SeededGenerator(seed: 0xC3C3)
        let storage = Support.randomBytes(70_000, using: &rng)
        storage.withUnsafeBytes { all in
            for alignment in 0..<8 {
                for length in Array(0...600) + [4_095, 4_096, 4_097, 65_536 + 3] {
                    let slice = UnsafeRawBufferPointer(rebasing: all[alignment..<(alignment + length)])
                    let seed = UInt32.random(in: 0...UInt32.max, using: &rng)
                    let hardware = CRC32C.checksum(slice, continuing: seed)
                    #expect(hardware == CRC32C.softwareChecksum(slice, continuing: seed), "length \(length), alignment \(alignment)")
                    #expect(hardware == CRC32C.portableChecksum(slice, continuing: seed), "length \(length), alignment \(alignment)")
                }
            }
        }
    }

    @Test("checksums chain: the CRC of a then b, continued, equals the CRC of a+b")
    func crcChains() {
        var rng = Support.SeededGenerator(seed: 7)
        for _ in 0..<200 {
            let whole = Support.randomBytes(Int.random(in: 0...3_000, using: &rng), using: &rng)
            let cut = Int.random(in: 0...whole.count, using: &rng)
            whole.withUnsafeBytes { all in
                let first = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[..<cut]))
                let chained = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[cut...]), continuing: first)
                #expect(chained == CRC32C.checksum(all))
                let softFirst = CRC32C.softwareChecksum(UnsafeRawBufferPointer(rebasing: all[..<cut]))
                #expect(CRC32C.softwareChecksum(UnsafeRawBufferPointer(rebasing: all[cut...]), continuing: softFirst) == chained)
            }
        }
    }

    // MARK: - Layout

    @Test("an encoded record puts every field at the offset docs/FORMAT.md gives, little-endian")
    func recordLayout() throws {
        var record = Support.Record()
        record.commit = true
        record.position = 0x0102_0304_0506_0708
        record.revision = 9
        record.recordedAtMicros = -2
        record.id = UUID(uuidString: "00112233-4455-6677-8899-AABBCCDDEEFF")!
        record.stream = "s-1"
        record.type = "T"
        record.contentType = "ct"
        record.metadata = [0xAA]
        record.data = [0xD0, 0xD1]
        let bytes = record.encoded
        let bodyLength = 56 + 3 + 1 + 2 + 1 + 2
        #expect(bytes.count == 8 + bodyLength)
        #expect(RecordFormat.maxRecordSize == 67_174_400) // 64 MiB + 64 KiB, as docs/FORMAT.md says
        #expect(RecordEncoder.encodedSize(streamLength: 3, typeLength: 1, contentTypeLength: 2, metadataLength: 1, dataLength: 2) == bytes.count)
        #expect(Array(bytes[0..<4]) == [UInt8(bodyLength), 0, 0, 0])
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[8...])) }
        #expect(Array(bytes[4..<8]) == [UInt8(crc & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 24)])
        #expect(bytes[8] == 1) // kind: event
        #expect(bytes[9] == 1) // flags: commit
        #expect(Array(bytes[10..<12]) == [3, 0])
        #expect(bytes[12] == 1)
        #expect(bytes[13] == 2)
        #expect(Array(bytes[14..<16]) == [0, 0])
        #expect(Array(bytes[16..<24]) == [8, 7, 6, 5, 4, 3, 2, 1])
        #expect(Array(bytes[24..<32]) == [9, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(bytes[32..<40]) == [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(Array(bytes[40..<56]) == [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF])
        #expect(Array(bytes[56..<60]) == [1, 0, 0, 0])
        #expect(Array(bytes[60..<64]) == [2, 0, 0, 0])
        #expect(Array(bytes[64...]) == Array("s-1Tct".utf8) + [0xAA, 0xD0, 0xD1])
    }

    // MARK: - Round trip

    @Test("500 random records, back to back, decode to exactly what was encoded")
    func roundTrip() throws {
        var rng = Support.SeededGenerator(seed: 0x5EED)
        var records: [Support.Record] = []
        var offsets: [Int] = []
        var buffer: [UInt8] = []
        for index in 0..<500 {
            let record = Support.Record.random(using: &rng, position: UInt64(index + 1))
            records.append(record)
            offsets.append(try record.encode(into: &buffer))
        }
        var offset = 0
        for (index, expected) in records.enumerated() {
            #expect(offset == offsets[index])
            let result = Support.decode(buffer, at: offset)
            let decoded = try #require(Support.record(in: result), "record \(index) at \(offset): \(result)")
            #expect(decoded == expected)
            #expect(Support.record(in: Support.decode(buffer, at: offset, verifyCRC: false)) == expected)
            if case let .record(view) = result {
                #expect(view.offset == offset)
                #expect(view.totalSize == expected.encoded.count)
                offset = view.end
            }
        }
        #expect(offset == buffer.count)
        #expect(Support.isEnd(Support.decode(buffer, at: buffer.count)))
    }

    @Test("RecordFields.with lends Data and [UInt8] payloads alike")
    func dataPayloads() throws {
        var buffer: [UInt8] = []
        let data = Data([1, 2, 3])
        try RecordFields.with(
            kind: .event, commit: true, position: 5, revision: 2, recordedAtMicros: 0, id: UUID(),
            stream: "s", type: "t", metadata: Data(), data: data
        ) { try RecordEncoder.append($0, to: &buffer) }
        let decoded = try #require(Support.record(in: Support.decode(buffer, at: 0)))
        #expect(decoded.data == [1, 2, 3])
        #expect(decoded.metadata.isEmpty)
        #expect(decoded.position == 5)
    }

    // MARK: - Damage

    @Test("flipping any single byte of a record makes it decode as invalid at that record's offset")
    func flippedByte() throws {
        var rng = Support.SeededGenerator(seed: 99)
        var buffer: [UInt8] = []
        try Support.Record.random(using: &rng, position: 1).encode(into: &buffer)
        var target = Support.Record()
        target.metadata = [1, 2, 3]
        let offset = try target.encode(into: &buffer)
        try Support.Record.random(using: &rng, position: 3).encode(into: &buffer)
        let end = offset + target.encoded.count
        for index in offset..<end {
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                var damaged = buffer
                damaged[index] ^= mask
                let result = Support.decode(damaged, at: offset)
                #expect(Support.invalidOffset(of: result) == offset, "byte \(index - offset) ^ \(mask): \(result)")
            }
        }
    }

    @Test("a record cut short anywhere decodes as invalid, never as a record")
    func truncatedRecord() throws {
        let bytes = Support.Record().encoded
        for cut in 1..<bytes.count {
            let result = Support.decode(Array(bytes[0..<cut]), at: 0)
            #expect(Support.invalidOffset(of: result) == 0, "cut at \(cut): \(result)")
        }
    }

    @Test("eight zero bytes, or only zeros to the end of the buffer, decode as the end of the records")
    func zeroTail() throws {
        var buffer = Support.Record().encoded
        let end = buffer.count
        buffer += [UInt8](repeating: 0, count: 100)
        #expect(Support.isEnd(Support.decode(buffer, at: end)))
        #expect(Support.isEnd(Support.decode(Array(buffer[0..<(end + 3)]), at: end)))
        #expect(Support.isEnd(Support.decode(Array(buffer[0..<end]), at: end)))
    }

    @Test("an offset past the end of the buffer is invalid, not a crash")
    func offsetPastEnd() {
        let bytes = Support.Record().encoded
        #expect(Support.invalidOffset(of: Support.decode(bytes, at: bytes.count + 1)) == bytes.count + 1)
    }

    @Test("a zero length with a nonzero checksum is invalid, not an end marker")
    func zeroLengthNonzeroChecksum() {
        var buffer = [UInt8](repeating: 0, count: 64)
        buffer[5] = 1
        #expect(Support.invalidOffset(of: Support.decode(buffer, at: 0)) == 0)
    }

    @Test("lengths below 56, above the maximum, or not adding up are invalid even with a matching checksum")
    func structuralChecks() throws {
        let good = Support.Record().encoded
        var short = good
        Support.store(UInt32(55), in: &short, at: 0)
        #expect(Support.invalidOffset(of: Support.decode(short, at: 0)) == 0)

        var huge = good + [UInt8](repeating: 0, count: 16)
        Support.store(UInt32(RecordFormat.maxRecordSize + 1), in: &huge, at: 0)
        #expect(Support.invalidOffset(of: Support.decode(huge, at: 0)) == 0)

        var mismatched = good
        Support.store(UInt32(3), in: &mismatched, at: 60) // data length, now not adding up to L
        Support.resealChecksum(&mismatched, recordAt: 0)
        guard case let .invalid(_, reason) = Support.decode(mismatched, at: 0) else {
            Issue.record("lengths that do not add up decoded")
            return
        }
        #expect(reason.contains("add up"))

        var unknownKind = good
        unknownKind[8] = 9
        Support.resealChecksum(&unknownKind, recordAt: 0)
        #expect(Support.invalidOffset(of: Support.decode(unknownKind, at: 0)) == 0)

        var eventWithoutPosition = good
        Support.store(UInt64(0), in: &eventWithoutPosition, at: 16)
        Support.resealChecksum(&eventWithoutPosition, recordAt: 0)
        #expect(Support.invalidOffset(of: Support.decode(eventWithoutPosition, at: 0)) == 0)
    }

    @Test("decodeUnchecked skips only the checksum; decode, the default, checks it")
    func uncheckedSkipsChecksum() {
        var bytes = Support.Record().encoded
        bytes[bytes.count - 1] ^= 0x40
        #expect(Support.invalidOffset(of: Support.decode(bytes, at: 0)) == 0)
        #expect(Support.record(in: Support.decode(bytes, at: 0, verifyCRC: false)) != nil)
    }

    @Test("the encoder refuses an empty stream, an over-long type and an oversized record")
    func encoderLimits() {
        var record = Support.Record()
        record.stream = ""
        #expect(throws: RecordEncodingError.emptyStreamName) { var b: [UInt8] = []; try record.encode(into: &b) }
        record = Support.Record()
        record.type = String(repeating: "x", count: 256)
        #expect(throws: RecordEncodingError.fieldTooLong(field: "event type", length: 256, limit: 255)) {
            var b: [UInt8] = []; try record.encode(into: &b)
        }
        record = Support.Record()
        record.data = [UInt8](repeating: 0, count: RecordFormat.maxRecordSize)
        var buffer: [UInt8] = [7]
        #expect(throws: RecordEncodingError.self) { try record.encode(into: &buffer) }
        #expect(buffer == [7])
    }

    // MARK: - Scanning

    /// Three committed transactions (1 record, 3 records, 1 record) then `tail`.
    private func transactions() throws -> (bytes: [UInt8], ends: [Int]) {
        var buffer: [UInt8] = []
        var ends: [Int] = []
        var position: UInt64 = 0
        for size in [1, 3, 1] {
            for index in 0..<size {
                position += 1
                var record = Support.Record()
                record.position = position
                record.commit = index == size - 1
                try record.encode(into: &buffer)
            }
            ends.append(buffer.count)
        }
        return (buffer, ends)
    }

    @Test("a scan visits committed records only and reports committedEnd before a transaction without its commit record")
    func scanStopsBeforeUncommittedTransaction() throws {
        var (bytes, ends) = try transactions()
        for index in 0..<2 {
            var record = Support.Record()
            record.position = UInt64(6 + index)
            record.commit = false
            try record.encode(into: &bytes)
        }
        let recordsEnd = bytes.count
        bytes += [UInt8](repeating: 0, count: 256)

        var visited: [UInt64] = []
        let outcome = bytes.withUnsafeBytes { buffer in
            RecordDecoder.scan(buffer, from: 0) { visited.append($0.position) }
        }
        #expect(visited == [1, 2, 3, 4, 5])
        #expect(outcome.committedEnd == ends[2])
        #expect(outcome.lastCommittedPosition == 5)
        #expect(outcome.committedRecords == 5)
        #expect(outcome.recordsEnd == recordsEnd)
        #expect(outcome.hasUncommittedRecords)
        #expect(outcome.stop == .end(offset: recordsEnd))
        #expect(!outcome.nonzeroBytesAfterStop)
        #expect(outcome.corruption(path: "x", sealed: false) == nil)
        #expect(outcome.corruption(path: "x", sealed: true) == .corrupt(
            path: "x", offset: ends[2], reason: "records without a commit record at the end of a sealed segment"
        ))
    }

    @Test("a torn last record is a tail to cut in the last segment and corruption in a sealed one")
    func tornTail() throws {
        var (bytes, ends) = try transactions()
        let torn = Support.Record().encoded
        bytes += torn[0..<(torn.count / 2)]
        bytes += [UInt8](repeating: 0, count: torn.count * 3)
        let outcome = bytes.withUnsafeBytes { RecordDecoder.scan($0, from: 0) { _ in } }
        #expect(outcome.committedEnd == ends[2])
        #expect(outcome.stop == .invalid(offset: ends[2], reason: outcome.invalidReasonForTest))
        #expect(!outcome.nonzeroBytesAfterStop)
        #expect(outcome.corruption(path: "x", sealed: false) == nil)
        #expect(outcome.corruption(path: "x", sealed: true) != nil)
    }

    @Test("a damaged record followed by more records is corruption, reported at the damaged record")
    func damageBeforeMoreRecords() throws {
        var (bytes, ends) = try transactions()
        bytes[ends[0] + 70] ^= 0x01 // inside the first record of the second transaction
        let outcome = bytes.withUnsafeBytes { RecordDecoder.scan($0, from: 0) { _ in } }
        #expect(outcome.committedEnd == ends[0])
        #expect(outcome.nonzeroBytesAfterStop)
        guard case let .corrupt(path, offset, _)? = outcome.corruption(path: "seg", sealed: false) else {
            Issue.record("not reported as corruption: \(outcome)")
            return
        }
        #expect(path == "seg")
        #expect(offset == ends[0])
    }

    @Test("a scan that reaches its limit at a record boundary stops there")
    func scanToLimit() throws {
        let (bytes, ends) = try transactions()
        var count = 0
        let outcome = bytes.withUnsafeBytes { RecordDecoder.scan($0, from: ends[0], until: ends[1]) { _ in count += 1 } }
        #expect(outcome.stop == .limit)
        #expect(outcome.committedEnd == ends[1])
        #expect(outcome.lastCommittedPosition == 4)
        #expect(count == 3)
    }
}

extension ScanOutcome {
    /// The reason of an `.invalid` stop, so tests can compare stops without restating messages.
    var invalidReasonForTest: String {
        if case let .invalid(_, reason) = stop { return reason }
        return ""
    }
}
