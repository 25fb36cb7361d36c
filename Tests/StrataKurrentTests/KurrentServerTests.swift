import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Strata
@testable import StrataKurrent
import StrataServer
import SwiftProtobuf
import Testing

/// The mapping between the protocol and Strata's contract, and the server through grpc-swift's
/// own client: what KurrentDB's clients decode (docs/KURRENTDB.md).
@Suite("KurrentDB protocol: mapping and server")
struct KurrentServerTests {
    @Test("event ids round-trip through the text form and the two signed 64-bit halves")
    func uuids() throws {
        for _ in 0..<100 {
            let id = UUID()
            #expect(KurrentMapping.uuid(KurrentMapping.uuid(id, structured: true)) == id)
            #expect(KurrentMapping.uuid(KurrentMapping.uuid(id, structured: false)) == id)
        }
        let known = try #require(UUID(uuidString: "00000000-0000-0001-8000-000000000002"))
        let halves = KurrentMapping.uuid(known, structured: true).structured
        #expect(halves.mostSignificantBits == 1 && halves.leastSignificantBits == Int64(bitPattern: 0x8000_0000_0000_0002))
        var garbage = EventStore_Client_UUID()
        garbage.string = "not a uuid"
        #expect(KurrentMapping.uuid(garbage) == nil)
    }

    @Test("metadata JSON: $maxCount, $maxAge and a 0-based $tb map onto Strata's metadata, custom keys come back; bad values are refused")
    func metadataJSON() throws {
        let id = UUID()
        let metadata = try MetadataStream.metadata(from: Data(#"{"$maxCount":2,"$maxAge":60,"$tb":4,"owner":"ops","$acl":{"$r":"x"}}"#.utf8), id: id)
        #expect(metadata.maxCount == 2 && metadata.maxAge == 60 && metadata.truncateBefore == 5)
        let back = try #require(try JSONSerialization.jsonObject(with: MetadataStream.json(metadata)) as? [String: Any])
        #expect(back["$maxCount"] as? Int == 2 && back["$tb"] as? Int == 4 && back["owner"] as? String == "ops" && back["$acl"] != nil)
        #expect(throws: StrataError.self) { try MetadataStream.metadata(from: Data(#"{"$maxCount":-1}"#.utf8), id: id) }
        #expect(throws: StrataError.self) { try MetadataStream.metadata(from: Data("[1]".utf8), id: id) }
        #expect(MetadataStream.event(stream: "s", metadata: StreamMetadata()) == nil)
        #expect(MetadataStream.event(stream: "s", metadata: metadata)?.id == MetadataStream.event(stream: "s", metadata: metadata)?.id)
    }

    @Test("filters: stream prefixes go to the store (narrowed to a key's prefix); type prefixes and regular expressions apply here")
    func filters() throws {
        var options = EventStore_Client_Streams_ReadReq.Options.FilterOptions()
        var expression = EventStore_Client_Streams_ReadReq.Options.FilterOptions.Expression()
        expression.prefix = ["order-", "x"]
        options.streamIdentifier = expression
        #expect(try KurrentFilter(options, restrictedTo: nil).store.streamPrefixes == ["order-", "x"])
        #expect(try KurrentFilter(options, restrictedTo: "order-1").store.streamPrefixes == ["order-1"])
        #expect(throws: RPCError.self) { try KurrentFilter(options, restrictedTo: "invoice-") }
        expression = .init()
        expression.regex = #"^(?!(\$.+$|Result$))"#
        options.eventType = expression
        let filter = try KurrentFilter(options, restrictedTo: nil)
        let event = { (type: String) in RecordedEvent(id: UUID(), stream: "s", revision: 1, position: 1, recordedAtMicroseconds: 0, type: type, data: Data("{}".utf8), metadata: nil) }
        #expect(filter.matches(event("OrderPlaced")) && !filter.matches(event("$metadata")) && !filter.matches(event("Result")))
        expression.regex = "("
        options.eventType = expression
        #expect(throws: RPCError.self) { try KurrentFilter(options, restrictedTo: nil) }
    }

    @Test("through grpc-swift's client: a batch append, a conflict answered with WrongExpectedVersion details, a read, a subscription's confirmation first, gossip")
    func endToEnd() async throws {
        let store = InMemoryEventStore()
        let http = try StrataHTTPServer(store: store, configuration: ServerConfiguration(port: 0))
        let grpc = StrataKurrentServer(http: http, port: 0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await http.run() }
            group.addTask { try await grpc.run() }
            defer { group.cancelAll() }
            let port = try await grpc.waitUntilRunning()
            let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
            try await withGRPCClient(transport: transport) { client in
                let streams = EventStore_Client_Streams_Streams.Client(wrapping: client)
                let ids = [UUID(), UUID()]
                @Sendable func batch(_ expectedRevision: UInt64?, _ ids: [UUID]) -> EventStore_Client_Streams_BatchAppendReq {
                    var request = EventStore_Client_Streams_BatchAppendReq()
                    request.correlationID = KurrentMapping.uuid(UUID(), structured: false)
                    request.options.streamIdentifier = KurrentMapping.identifier("orders")
                    if let expectedRevision { request.options.streamPosition = expectedRevision } else { request.options.noStream = .init() }
                    request.proposedMessages = ids.map { id in
                        var m = EventStore_Client_Streams_BatchAppendReq.ProposedMessage()
                        m.id = KurrentMapping.uuid(id, structured: false)
                        m.metadata = ["type": "OrderPlaced", "content-type": "application/json"]
                        m.data = Data(#"{"n":1}"#.utf8)
                        return m
                    }
                    request.isFinal = true
                    return request
                }
                let responses = try await streams.batchAppend(requestProducer: { writer in
                    try await writer.write(batch(nil, ids))
                    try await writer.write(batch(7, [UUID()]))
                }) { response in try await Array(response.messages) }
                #expect(responses.count == 2)
                #expect(responses[0].success.currentRevision == 1 && responses[0].success.position.commitPosition == 2)
                let conflict = responses[1].error
                #expect(conflict.code == .failedPrecondition)
                let details = try EventStore_Client_WrongExpectedVersion(unpackingAny: conflict.details)
                #expect(details.currentStreamRevision == 1 && details.expectedStreamPosition == 7)

                var read = EventStore_Client_Streams_ReadReq()
                read.options.stream.streamIdentifier = KurrentMapping.identifier("orders")
                read.options.stream.start = .init()
                read.options.count = 10
                read.options.noFilter = .init()
                read.options.uuidOption.structured = .init()
                let events = try await streams.read(read) { response in try await Array(response.messages) }
                #expect(events.map { KurrentMapping.uuid($0.event.event.id) } == ids)
                #expect(events.map(\.event.event.streamRevision) == [0, 1] && events.map(\.event.commitPosition) == [1, 2])
                #expect(events[0].event.event.metadata["type"] == "OrderPlaced")

                var subscribe = read
                subscribe.options.subscription = .init()
                let firstTwo = try await streams.read(subscribe) { response in
                    var kinds: [String] = []
                    for try await message in response.messages {
                        switch message.content {
                        case .confirmation?: kinds.append("confirmation")
                        case .event?: kinds.append("event")
                        case .caughtUp?: kinds.append("caughtUp")
                        default: kinds.append("other")
                        }
                        if kinds.count == 4 { break }
                    }
                    return kinds
                }
                #expect(firstTwo == ["confirmation", "event", "event", "caughtUp"])

                let gossip = try await EventStore_Client_Gossip_Gossip.Client(wrapping: client).read(EventStore_Client_Empty())
                #expect(gossip.members.count == 1 && gossip.members[0].state == .leader && gossip.members[0].httpEndPoint.port == UInt32(port))
            }
        }
    }
}
