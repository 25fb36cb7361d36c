import NIOCore
import Testing
@testable import StrataNATS

@Suite("NATS protocol parser")
struct NATSParserTests {
    static let stream = "INFO {\"server_id\":\"x\",\"max_payload\":1048576}\r\n"
        + "MSG orders.1 7 5\r\nhello\r\n"
        + "PING\r\n"
        + "HMSG orders.2 8 _INBOX.a.1 20 25\r\nNATS/1.0\r\nA: b c\r\n\r\nworld\r\n"
        + "+OK\r\n"
        + "HMSG _INBOX.z 9 16 16\r\nNATS/1.0 503\r\n\r\n\r\n"
        + "-ERR 'Authorization Violation'\r\n"
        + "MSG empty 1 reply.to 0\r\n\r\n"
        + "PONG\r\n"

    func parseAll(_ chunks: [ByteBuffer]) throws -> [NATSServerOp] {
        var parser = NATSParser()
        var ops: [NATSServerOp] = []
        for chunk in chunks {
            parser.feed(chunk)
            while let op = try parser.next() { ops.append(op) }
        }
        return ops
    }

    func describe(_ ops: [NATSServerOp]) -> [String] {
        ops.map { op in
            switch op {
            case .info(let j): "INFO \(String(decoding: j, as: UTF8.self))"
            case .message(let m):
                "MSG \(m.subject) \(m.sid) \(m.replyTo ?? "-") \(m.headers.map { "\($0.status ?? 0) \($0.fields.map { "\($0.name)=\($0.value)" })" } ?? "none") \(String(decoding: m.payload.readableBytesView, as: UTF8.self))"
            case .ok: "+OK"
            case .error(let e): "-ERR \(e)"
            case .ping: "PING"
            case .pong: "PONG"
            }
        }
    }

    @Test("a stream of every operation parses the same whole and split at every byte")
    func splitAtEveryByte() throws {
        let bytes = Array(Self.stream.utf8)
        let whole = describe(try parseAll([ByteBuffer(bytes: bytes)]))
        #expect(whole == [
            "INFO {\"server_id\":\"x\",\"max_payload\":1048576}",
            "MSG orders.1 7 - none hello",
            "PING",
            "MSG orders.2 8 _INBOX.a.1 0 [\"A=b c\"] world",
            "+OK",
            "MSG _INBOX.z 9 - 503 [] ",
            "-ERR Authorization Violation",
            "MSG empty 1 reply.to none ",
            "PONG",
        ])
        for cut in 1 ..< bytes.count {
            let split = describe(try parseAll([ByteBuffer(bytes: bytes[..<cut]), ByteBuffer(bytes: bytes[cut...])]))
            #expect(split == whole, "split at \(cut)")
        }
        let oneByOne = describe(try parseAll(bytes.map { ByteBuffer(bytes: [$0]) }))
        #expect(oneByOne == whole)
    }

    @Test("a payload may contain CRLF and protocol words")
    func binaryPayload() throws {
        let payload = "PING\r\nMSG x 1 2\r\n"
        let frame = "MSG a 1 \(payload.utf8.count)\r\n\(payload)\r\nPONG\r\n"
        let ops = describe(try parseAll([ByteBuffer(string: frame)]))
        #expect(ops == ["MSG a 1 - none \(payload)", "PONG"])
    }

    @Test("garbage is a protocol violation, not a crash")
    func garbage() {
        #expect(throws: NATSError.self) { try parseAll([ByteBuffer(string: "HELLO there\r\n")]) }
        #expect(throws: NATSError.self) { try parseAll([ByteBuffer(string: "MSG a b c\r\n")]) }
        #expect(throws: NATSError.self) { try parseAll([ByteBuffer(string: "MSG a 1 3\r\nabcXY")]) }
    }

    @Test("headers round-trip and refuse CR/LF")
    func headers() throws {
        var h = NATSHeaders()
        h["Nats-Msg-Id"] = "abc"
        h["X"] = "1 2"
        var b = ByteBuffer()
        try h.write(into: &b)
        #expect(String(buffer: b) == "NATS/1.0\r\nNats-Msg-Id: abc\r\nX: 1 2\r\n\r\n")
        #expect(try NATSHeaders.parse(b.readableBytesView) == h)
        var bad = NATSHeaders()
        bad["X"] = "a\r\nB: c"
        #expect(throws: NATSError.self) { try bad.write(into: &b) }
    }

    @Test("server URLs parse with credentials, TLS and ports")
    func urls() throws {
        let a = try NATSServerAddress(url: "nats://u:p@host.example:4333")
        #expect(a.host == "host.example" && a.port == 4333 && a.user == "u" && a.password == "p" && !a.requiresTLS)
        let b = try NATSServerAddress(url: "tls://10.0.0.1")
        #expect(b.port == 4222 && b.requiresTLS)
        #expect(throws: NATSError.self) { try NATSServerAddress(url: "nats://h:99999") }
    }

    /// Found by Fuzz/FuzzNATSParser: a payload size near `Int.max` overflowed `total + 2` and
    /// trapped; a size beyond NATS's 64 MiB cap is now a protocol violation.
    @Test("a MSG or HMSG size beyond 64 MiB is a protocol violation, not a crash")
    func hugeMessageSize() throws {
        for line in ["MSG a 1 9223372036854775807\r\n", "MSG a 1 9223372036854775806\r\n",
                     "HMSG a 1 0 9223372036854775807\r\n", "MSG a 1 67108865\r\n"] {
            var parser = NATSParser()
            parser.feed(ByteBuffer(string: line))
            #expect(throws: NATSError.self) { _ = try parser.next() }
        }
        var parser = NATSParser()
        parser.feed(ByteBuffer(string: "MSG a 1 67108864\r\n"))
        #expect(try parser.next() == nil)  // the largest size allowed waits for its payload
    }
}
