// Fuzzes segment files as the engine meets them on open: a copy of a small template store
// (FuzzSupport.TemplateStore) gets one of its segment files replaced by the input, then the
// store is opened (header checks, recovery scan, torn-tail cut, index rebuild), read back in
// full, and verified by `LogEventStore.verify`. The index checkpoint is removed so that the
// engine rebuilds its index from the fuzzed log.
//
// Control byte (the first input byte): bits 0–1 choose which segment is replaced (the newest,
// or the oldest, second or third); bit 2 keeps the template's checkpoint; bit 3 leaves the
// header checksum as is (otherwise it is rewritten); bit 4 leaves the record checksums as
// they are (otherwise each structurally framed record gets a correct CRC).
import Foundation
import FuzzSupport
@testable import StrataLog

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let control = data[0]
    var bytes = [UInt8](UnsafeBufferPointer(start: data + 1, count: size - 1))
    bytes.withUnsafeMutableBytes { raw in
        if control & 8 == 0 { FuzzSupport.repairHeaderChecksum(raw) }
        if control & 16 == 0 { FuzzSupport.repairRecordChecksums(raw, from: 64) }
    }
    let segments = TemplateStore.segmentPaths
    let choice = Int(control & 3)
    let directory = TemplateStore.copy()
    defer { TemplateStore.remove(directory) }
    let name = (choice == 0 ? segments.last! : segments[min(choice - 1, segments.count - 1)]).split(separator: "/").last!
    let path = directory + "/segments/" + name
    bytes.withUnsafeBytes { FuzzSupport.write($0, to: path) }
    if control & 4 == 0 { unlink(directory + "/index.ckpt") }
    _ = try? LogEventStore.verify(directory: directory)
    TemplateStore.openAndReadAll(directory)
    return 0
}

@_cdecl("FuzzSegment_main")
public func FuzzSegmentMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
