import Foundation
@testable import StrataKurrent
import SwiftProtobuf
import Testing

/// The generated messages speak the protocol's wire format: bytes a KurrentDB client sends,
/// written here by hand from the field numbers, decode to what they mean.
@Suite("KurrentDB protocol: wire format")
struct WireFormatTests {
    @Test("a ReadReq for stream \"orders\" from revision 5, forwards, 10 events decodes field by field")
    func readRequest() throws {
        // options(1) { stream(1) { stream_identifier(1) { stream_name(3) "orders" } revision(2) 5 } read_direction(3) 0 count(5) 10 no_filter(8) {} }
        let streamName: [UInt8] = [0x1A, 6] + Array("orders".utf8)
        let identifier: [UInt8] = [0x0A, UInt8(streamName.count)] + streamName
        let streamOptions: [UInt8] = identifier + [0x10, 5]
        let options: [UInt8] = [0x0A, UInt8(streamOptions.count)] + streamOptions + [0x28, 10, 0x42, 0]
        let bytes: [UInt8] = [0x0A, UInt8(options.count)] + options
        let request = try EventStore_Client_Streams_ReadReq(serializedBytes: bytes)
        #expect(String(decoding: request.options.stream.streamIdentifier.streamName, as: UTF8.self) == "orders")
        #expect(request.options.stream.revision == 5 && request.options.count == 10)
        #expect(request.options.readDirection == .forwards)
        if case .noFilter = request.options.filterOption {} else { Issue.record("no_filter expected") }
        #expect(try request.serializedBytes() as [UInt8] == bytes, "re-encoding gives the same bytes")
    }
}
