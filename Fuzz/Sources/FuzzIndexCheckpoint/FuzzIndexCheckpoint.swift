// Fuzzes `index.ckpt` (docs/FORMAT.md, "Index checkpoint") as the engine meets it on open: a
// copy of the template store gets the input as its checkpoint, then the store is opened (the
// checkpoint is loaded and matched against the segments, or refused and the index rebuilt)
// and read back in full. A checkpoint that loads must describe the log truthfully or be
// refused; none may crash the process.
//
// Control byte (the first input byte): bit 0 leaves the input's trailing CRC as is; otherwise
// the harness appends the correct CRC32C of the input, so mutations reach the field checks.
import Foundation
import FuzzSupport
@testable import StrataLog

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let control = data[0]
    var bytes = [UInt8](UnsafeBufferPointer(start: data + 1, count: size - 1))
    if control & 1 == 0 {
        let crc = bytes.withUnsafeBytes { FuzzSupport.crc32c($0) }
        withUnsafeBytes(of: crc.littleEndian) { bytes.append(contentsOf: $0) }
    }
    let directory = TemplateStore.copy()
    defer { TemplateStore.remove(directory) }
    bytes.withUnsafeBytes { FuzzSupport.write($0, to: directory + "/" + IndexCheckpoint.fileName) }
    TemplateStore.openAndReadAll(directory)
    return 0
}

@_cdecl("FuzzIndexCheckpoint_main")
public func FuzzIndexCheckpointMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
