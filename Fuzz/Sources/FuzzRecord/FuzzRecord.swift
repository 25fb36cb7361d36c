// Fuzzes the record decoder (docs/FORMAT.md, "Record") on raw bytes: `RecordDecoder.decode` at
// offset 0 and `RecordDecoder.scan` over the whole buffer, then checks that every record it
// accepts re-encodes to the same bytes. The first input byte is a control byte: bit 0 asks the
// harness to rewrite the records' CRC fields first, so mutations reach the checks behind the
// checksum; bit 1 skips CRC verification (the engine's `decodeUnchecked` path).
import Foundation
import FuzzSupport
@testable import StrataLog

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let control = data[0]
    var bytes = [UInt8](UnsafeBufferPointer(start: data + 1, count: size - 1))
    bytes.withUnsafeMutableBytes { raw in
        if control & 1 != 0 { FuzzSupport.repairRecordChecksums(raw, from: 0) }
    }
    let verify = control & 2 == 0
    bytes.withUnsafeBytes { buffer in
        switch RecordDecoder.decode(buffer, at: 0, verifyCRC: verify) {
        case .record(let view): check(view, in: buffer, verified: verify)
        case .end, .invalid: break
        }
        var seen = 0
        let outcome = RecordDecoder.scan(buffer, from: 0, verifyCRC: verify, inspectTail: control & 4 == 0) { view in
            seen += 1
            check(view, in: buffer, verified: verify)
        }
        precondition(outcome.committedEnd <= outcome.recordsEnd && outcome.recordsEnd <= buffer.count, "scan outcome out of range: \(outcome)")
        precondition(outcome.committedRecords == seen, "scan visited \(seen) records, says \(outcome.committedRecords)")
        _ = outcome.corruption(path: "fuzz", sealed: control & 8 != 0)
    }
    return 0
}

/// Every field of an accepted record lies inside the buffer, and encoding its fields again
/// gives back exactly its bytes (the checksum too, when it was verified).
private func check(_ view: RecordView, in buffer: UnsafeRawBufferPointer, verified: Bool) {
    precondition(view.offset >= 0 && view.end <= buffer.count, "record extends past the buffer")
    precondition(view.dataRange.lowerBound == view.metadataRange.upperBound, "field ranges do not tile the body")
    _ = (view.streamName, view.typeName, view.contentTypeName, view.id, view.metadata.count, view.data.count)
    let reencoded: [UInt8] = RecordFields.with(
        kind: view.kind, commit: view.isCommit, position: view.position, revision: view.revision,
        recordedAtMicros: view.recordedAtMicros, id: view.id,
        stream: view.streamName, type: view.typeName, contentType: view.contentTypeName,
        metadata: [UInt8](view.metadata), data: [UInt8](view.data)
    ) { fields in
        var out: [UInt8] = []
        // Names that are not valid UTF-8 change length when decoded as String: not comparable.
        guard fields.stream.count == view.streamLength, fields.type.count == view.typeLength,
              fields.contentType.count == view.contentTypeLength else { return [] }
        do { try RecordEncoder.append(fields, to: &out) } catch { preconditionFailure("an accepted record does not re-encode: \(error)") }
        return out
    }
    guard !reencoded.isEmpty else { return }
    let original = [UInt8](UnsafeRawBufferPointer(rebasing: buffer[view.offset..<view.end]))
    if verified {
        precondition(reencoded == original, "re-encoding an accepted record changed its bytes")
    } else {
        precondition(reencoded[8...] == original[8...], "re-encoding an accepted record changed its body")
    }
}

@_cdecl("FuzzRecord_main")
public func FuzzRecordMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
