import Strata
import StrataJSON
import StrataJSONShapes
// Emitter options and CDC collections take a SourceIdentity: it comes with this module.
@_exported import struct StrataJSONShapes.SourceIdentity
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The emitter's side of ``Strata/SourceIdentity``: its wire JSON, the host name default, and
/// refinement from request headers.
///
/// ```swift
/// var source = SourceIdentity(id: "orders-1", name: "orders", class: "OrderService")
/// source.refine(fromRequestHeaders: [("X-Strata-Region", "eu-west"), ("X-Strata-Worker", "api-3")])
/// ```
extension SourceIdentity {
    /// The identity as the JSON object of the wire format: `{"id":…,"name":…,"class":…,"region":…,"worker":…}`,
    /// absent fields left out.
    public var json: [UInt8] {
        var out = JSONWriter()
        out.beginObject()
        out.field("id", id)
        if let name { out.field("name", name) }
        if let `class` { out.field("class", `class`) }
        if let region { out.field("region", region) }
        if let worker { out.field("worker", worker) }
        out.endObject()
        return out.bytes
    }

    /// This machine's host name (`gethostname`), or `localhost`.
    public static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }()

    // MARK: - Refining from a request

    /// Request headers that refine an identity, checked in order (names are case-insensitive).
    /// The first header present with a usable value wins (1–128 printable ASCII characters,
    /// trimmed; anything else is ignored, so a client cannot inject control characters).
    public struct RequestHeaders: Sendable, Hashable {
        /// Headers naming the region (default: `X-Strata-Region`, then `Fly-Region`).
        public var region: [String]
        /// Headers naming the worker (default: `X-Strata-Worker`).
        public var worker: [String]
        /// Headers naming the source (default: `X-Strata-Source-Name`).
        public var name: [String]

        /// Creates a header mapping.
        public init(region: [String] = ["X-Strata-Region", "Fly-Region"], worker: [String] = ["X-Strata-Worker"],
                    name: [String] = ["X-Strata-Source-Name"]) {
            self.region = region
            self.worker = worker
            self.name = name
        }

        /// The defaults.
        public static let `default` = RequestHeaders()
    }

    /// Refines `region`, `worker` and `name` from an incoming request's headers, as dotdo's
    /// `enrichFromRequest` does. `id` and `class` come only from configuration. Headers that are
    /// absent or unusable leave the field as it was.
    public mutating func refine(fromRequestHeaders headers: some Sequence<(String, String)>,
                                mapping: RequestHeaders = .default) {
        let pairs = headers.map { ($0.0.lowercased(), $0.1) }
        func first(_ names: [String]) -> String? {
            for name in names {
                let wanted = name.lowercased()
                for (key, value) in pairs where key == wanted {
                    if let usable = Self.usable(value) { return usable }
                }
            }
            return nil
        }
        if let value = first(mapping.region) { region = value }
        if let value = first(mapping.worker) { worker = value }
        if let value = first(mapping.name) { name = value }
    }

    /// A header value trimmed and checked: 1–128 printable ASCII characters.
    static func usable(_ value: String) -> String? {
        let trimmed = value.trimmingASCIISpaces()
        guard !trimmed.isEmpty, trimmed.utf8.count <= 128,
              trimmed.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return nil }
        return trimmed
    }
}

extension String {
    func trimmingASCIISpaces() -> String {
        let bytes = Array(utf8)
        var start = 0, end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
