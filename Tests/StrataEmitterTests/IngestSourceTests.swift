import AsyncHTTPClient
import Foundation
import NIOCore
import Strata
import Testing

@Suite("server: /ingest with a source identity object")
struct IngestSourceTests {
    func post(_ url: String, _ body: String) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let answer = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: answer))
    }

    @Test("source objects pick the stream ingest-<id> and are kept in the metadata; strings work as before; bad objects are a 400")
    func sourceObject() async throws {
        let server = try await IngestServer()
        let a = UUID(), b = UUID(), c = UUID(), d = UUID()
        let batch = """
        {"events":[
          {"id":"\(a)","type":"t","ts":"2026-01-02T03:04:05.678Z","source":{"id":"do-1","class":"Room","region":"ams"},"data":{"n":1}},
          {"id":"\(b)","type":"t","source":{"id":"do-1"},"metadata":{"source":{"id":"kept"},"x":1},"data":{"n":2}},
          {"id":"\(c)","type":"t","source":"legacy","data":{"n":3}}
        ]}
        """
        let (status, text) = try await post(server.url, batch)
        #expect(status == 200, "\(text)")
        let stored = try await server.store.readStream("ingest-do-1").collect()
        #expect(stored.map(\.id) == [a, b])
        let first = try metadataObject(stored[0])
        #expect(first["source"] as? [String: String] == ["id": "do-1", "class": "Room", "region": "ams"])
        #expect(first["ts"] as? String == "2026-01-02T03:04:05.678Z")
        let second = try metadataObject(stored[1])
        #expect(second["source"] as? [String: String] == ["id": "kept"] && second["x"] as? Int == 1)
        let legacy = try await server.store.readStream("ingest-legacy").collect()
        #expect(legacy.map(\.id) == [c] && legacy[0].metadata == nil)
        // A repeat is a duplicate.
        let (_, again) = try await post(server.url, batch)
        #expect(again.contains(#""duplicates":3"#), "\(again)")
        for bad in [#"{"class":"x"}"#, #"{"id":""}"#, #"{"id":7}"#] {
            let (code, body) = try await post(server.url, #"{"events":[{"id":"\#(d)","type":"t","source":\#(bad)}]}"#)
            #expect(code == 400, "\(bad): \(body)")
        }
        #expect(try await server.store.headPosition() == 3)
        await server.stop()
    }
}
