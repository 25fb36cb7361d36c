// Fuzzes the NATS server-to-client protocol parser (StrataNATS/Protocol/NATSParser.swift, with
// NATSHeaders for HMSG) on bytes a server — or anything posing as one — may send. The input is
// fed twice: whole, and in chunks whose sizes come from the first input byte; both runs must
// yield the same operations up to the first error (a protocol violation is an error, never a
// crash), because TCP may split the stream anywhere.
import NIOCore
import FuzzSupport
import StrataNATS

func describe(_ op: NATSServerOp) -> String {
    switch op {
    case .info(let json): return "INFO \(json)"
    case .message(let m): return "MSG \(m.subject) \(m.sid) \(m.replyTo ?? "-") \(m.headers.map { "\($0)" } ?? "-") \(m.bytes)"
    case .ok: return "+OK"
    case .error(let text): return "-ERR \(text)"
    case .ping: return "PING"
    case .pong: return "PONG"
    }
}

/// The operations parsed from `chunks` fed one after another, and whether parsing failed.
func run(_ chunks: [ArraySlice<UInt8>]) -> (ops: [String], failed: Bool) {
    var parser = NATSParser()
    var ops: [String] = []
    for chunk in chunks {
        parser.feed(ByteBuffer(bytes: chunk))
        do {
            while let op = try parser.next() {
                ops.append(describe(op))
                if case .message(let m) = op, let headers = m.headers { _ = headers.status }
            }
        } catch {
            return (ops, true)
        }
    }
    return (ops, false)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let step = Int(data[0] % 16) + 1
    let bytes = [UInt8](UnsafeBufferPointer(start: data + 1, count: size - 1))
    let whole = run([bytes[...]])
    var chunks: [ArraySlice<UInt8>] = []
    var at = 0
    while at < bytes.count {
        chunks.append(bytes[at..<min(at + step, bytes.count)])
        at += step
    }
    let split = run(chunks)
    // A failure seen whole may be seen later when split (an over-long line is only noticed once
    // enough bytes arrived), but the operations before it must be the same.
    if whole.failed == split.failed {
        precondition(whole.ops == split.ops, "split input parses differently:\n\(whole.ops)\n\(split.ops)")
    } else {
        let n = min(whole.ops.count, split.ops.count)
        precondition(whole.ops.prefix(n) == split.ops.prefix(n), "split input parses differently:\n\(whole.ops)\n\(split.ops)")
    }
    return 0
}

@_cdecl("FuzzNATSParser_main")
public func FuzzNATSParserMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
