import Foundation
import Strata
import StrataTestSupport
import Testing
@testable import StrataLog

/// Found by Fuzz/FuzzIndexCheckpoint: a checkpoint whose counts were forged or damaged (with a
/// matching CRC) trapped on `Int(UInt64)` or reserved memory for 2^63 streams before any check.
/// Counts are now bounded by the bytes left in the file, and such a checkpoint is refused.
@Suite("index checkpoint with absurd counts", .serialized)
struct IndexCheckpointFuzzTests {
    private func checkpoint(segmentCount: UInt64, streamCount: UInt64) -> [UInt8] {
        var bytes = Array("STRATAIX".utf8)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        u32(1); u32(0); u64(3); u64(1); u64(0)
        u64(segmentCount)
        u64(streamCount)
        let crc = bytes.withUnsafeBytes { CRC32C.checksum($0) }
        u32(crc)
        return bytes
    }

    @Test("is refused and the index rebuilt from the log")
    func absurdCounts() async throws {
        let dir = TemporaryDirectory.freshPath("ckpt-counts")
        defer { TemporaryDirectory.remove(dir) }
        let store = try LogEventStore(directory: dir, configuration: LogConfiguration(durability: .none))
        try await store.append(to: "s-1", events: FaultTest.events(3))
        try await store.close()
        for (segments, streams) in [(UInt64.max, UInt64(0)), (0, UInt64(Int64.max)), (0, UInt64.max), (1 << 40, 0)] {
            let bytes = checkpoint(segmentCount: segments, streamCount: streams)
            try Data(bytes).write(to: URL(fileURLWithPath: dir + "/index.ckpt"))
            let reopened = try LogEventStore(directory: dir, configuration: LogConfiguration(durability: .none))
            #expect(try await FaultTest.readAll(reopened).count == 3)
            try await reopened.close()
        }
    }
}
