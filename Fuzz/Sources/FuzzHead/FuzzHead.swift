// Fuzzes the `HEAD` hint page (StrataLog/Engine/HeadHint.swift), the shared-memory page where
// other processes publish the end of the log: a copy of the template store is opened, the input
// is written over its HEAD page as another process would publish it, and the engine consults
// the hint (`hintIsAhead`), catches up (`catchUp`) and reads everything back. Bit 1 of the
// control byte also puts the input in the HEAD file before the open. A hint is only an
// accelerator: any value must at worst cost a rescan.
//
// Control byte: bit 0 writes the hint's magic word over the first 8 bytes, so the three
// published words are taken as a published value.
import Foundation
import FuzzSupport
@testable import StrataLog

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let control = data[0]
    var bytes = [UInt8](UnsafeBufferPointer(start: data + 1, count: min(size - 1, 4096)))
    if control & 1 != 0 {
        if bytes.count < 8 { bytes += [UInt8](repeating: 0, count: 8 - bytes.count) }
        withUnsafeBytes(of: UInt64(0x5354_5241_5441_4844).littleEndian) { m in
            for i in 0..<8 { bytes[i] = m[i] }
        }
    }
    let directory = TemplateStore.copy()
    defer { TemplateStore.remove(directory) }
    if control & 2 != 0 { bytes.withUnsafeBytes { FuzzSupport.write($0, to: directory + "/" + HeadHint.fileName) } }
    TemplateStore.openAndReadAll(directory, head: bytes)
    return 0
}

@_cdecl("FuzzHead_main")
public func FuzzHeadMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
