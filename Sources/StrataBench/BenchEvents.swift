import Foundation
import Strata

/// The benchmark's events: one ~200-byte JSON payload built once, and ids made from a counter,
/// so that building events costs no JSON encoding and no random numbers inside timed loops.
struct BenchEvents {
    /// The payload every event carries (its bytes are shared, never copied per event).
    static let payload: Data = {
        var text = #"{"orderId":"order-000000042","customerId":"customer-00017","items":[{"sku":"SKU-1234","quantity":2,"unitPrice":1999},{"sku":"SKU-5678","quantity":1,"unitPrice":4550}],"currency":"EUR","total":8548,"channel":"web","note":""#
        while text.utf8.count < 198 { text += "x" }
        text += #""}"#
        return Data(text.utf8)
    }()

    /// The event type every event carries.
    static let type = "OrderPlaced"

    private let prefix: UInt64
    private var counter: UInt64 = 0

    /// Creates a factory whose ids are unique within this process run.
    init() {
        prefix = UInt64.random(in: 1...UInt64.max)
    }

    /// The next event, with a fresh id.
    mutating func next() -> EventData {
        counter += 1
        return EventData(id: BenchEvents.uuid(prefix, counter), type: BenchEvents.type, data: BenchEvents.payload)
    }

    /// `count` fresh events.
    mutating func batch(_ count: Int) -> [EventData] {
        var events: [EventData] = []
        events.reserveCapacity(count)
        for _ in 0..<count { events.append(next()) }
        return events
    }

    /// A version-4-shaped UUID from two 64-bit halves.
    static func uuid(_ high: UInt64, _ low: UInt64) -> UUID {
        let h = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        let l = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        let a = withUnsafeBytes(of: h.bigEndian) { Array($0) }
        let b = withUnsafeBytes(of: l.bigEndian) { Array($0) }
        return UUID(uuid: (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]))
    }

    /// Stream names `prefix-0` … `prefix-(count-1)`, built once.
    static func streamNames(_ prefix: String, count: Int) -> [String] {
        (0..<count).map { "\(prefix)-\($0)" }
    }
}
