import Foundation
import StrataJSON

/// Typed JSON coding of one event payload, Foundation's coders against StrataJSON's in the same
/// run: how much decoding bounds a typed replay.
enum JSONWorkloads {
    /// A typical event payload: strings, integers, a nested object and an array of objects.
    struct OrderPlaced: Codable, Equatable {
        struct Line: Codable, Equatable {
            var sku: String
            var quantity: Int
            var price: Int
        }

        struct Address: Codable, Equatable {
            var city: String
            var postcode: String
            var country: String
        }

        var orderId: String
        var customerId: String
        var items: [Line]
        var shipping: Address
        var currency: String
        var total: Int
    }

    /// The payload's value.
    static let sample = OrderPlaced(
        orderId: "ord-000000042", customerId: "cust-00017",
        items: [OrderPlaced.Line(sku: "SKU-1234", quantity: 2, price: 1999), OrderPlaced.Line(sku: "SKU-5678", quantity: 1, price: 4550)],
        shipping: OrderPlaced.Address(city: "Lyon", postcode: "69002", country: "FR"),
        currency: "EUR", total: 8548)

    /// The payload's 244 bytes (as an event stores them: compact JSON, keys in declaration order).
    static let payload = Data(#"{"orderId":"ord-000000042","customerId":"cust-00017","items":[{"sku":"SKU-1234","quantity":2,"price":1999},{"sku":"SKU-5678","quantity":1,"price":4550}],"shipping":{"city":"Lyon","postcode":"69002","country":"FR"},"currency":"EUR","total":8548}"#.utf8)

    /// Decodes per second: Foundation's `JSONDecoder` over `foundationCount` payloads and
    /// `StrataJSONDecoder` over `count`, each after a warm-up.
    static func decode(count: Int, foundationCount: Int) throws -> (foundation: Double, strata: Double) {
        let foundation = JSONDecoder()
        let strata = StrataJSONDecoder()
        guard try foundation.decode(OrderPlaced.self, from: payload) == sample,
              try strata.decode(OrderPlaced.self, from: payload) == sample else {
            throw JSONWorkloadFailure("the two decoders disagree on the benchmark payload")
        }
        var checksum = 0
        for _ in 0..<1000 { checksum &+= try foundation.decode(OrderPlaced.self, from: payload).total }
        var start = Stopwatch.now()
        for _ in 0..<foundationCount { checksum &+= try foundation.decode(OrderPlaced.self, from: payload).total }
        let foundationRate = Double(foundationCount) / Stopwatch.seconds(since: start)
        for _ in 0..<1000 { checksum &+= try strata.decode(OrderPlaced.self, from: payload).total }
        start = Stopwatch.now()
        for _ in 0..<count { checksum &+= try strata.decode(OrderPlaced.self, from: payload).total }
        let strataRate = Double(count) / Stopwatch.seconds(since: start)
        guard checksum == sample.total &* (2000 + count + foundationCount) else { throw JSONWorkloadFailure("a decode went wrong") }
        return (foundationRate, strataRate)
    }

    /// Encodes per second: Foundation's `JSONEncoder` (to `Data`) over `foundationCount` values
    /// and `StrataJSONEncoder` (into one reused `[UInt8]`) over `count`.
    static func encode(count: Int, foundationCount: Int) throws -> (foundation: Double, strata: Double) {
        let foundation = JSONEncoder()
        let strata = StrataJSONEncoder()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(512)
        try strata.encode(sample, into: &buffer)
        guard try JSONDecoder().decode(OrderPlaced.self, from: Data(buffer)) == sample,
              try foundation.encode(sample).count == buffer.count else {
            throw JSONWorkloadFailure("the two encoders disagree on the benchmark payload")
        }
        var bytes = 0
        for _ in 0..<1000 { bytes &+= try foundation.encode(sample).count }
        var start = Stopwatch.now()
        for _ in 0..<foundationCount { bytes &+= try foundation.encode(sample).count }
        let foundationRate = Double(foundationCount) / Stopwatch.seconds(since: start)
        for _ in 0..<1000 {
            buffer.removeAll(keepingCapacity: true)
            try strata.encode(sample, into: &buffer)
            bytes &+= buffer.count
        }
        start = Stopwatch.now()
        for _ in 0..<count {
            buffer.removeAll(keepingCapacity: true)
            try strata.encode(sample, into: &buffer)
            bytes &+= buffer.count
        }
        let strataRate = Double(count) / Stopwatch.seconds(since: start)
        guard bytes == payload.count &* (2000 + count + foundationCount) else { throw JSONWorkloadFailure("an encode went wrong") }
        return (foundationRate, strataRate)
    }
}

/// A JSON workload's self-check failed.
struct JSONWorkloadFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
