import Foundation
import Strata

/// Where and how ``OTLPHTTPTracer`` exports spans: an OTLP/HTTP collector, the service's name,
/// the share of traces recorded, and the batching of exports.
///
/// In `strata serve`'s configuration file it is the optional `tracing` object (docs/SERVER.md):
///
/// ```json
/// "tracing": {"otlpEndpoint": "http://otel-collector:4318", "serviceName": "strata-orders", "sampleRatio": 0.25}
/// ```
///
/// ```swift
/// let configuration = TracingConfiguration(endpoint: "http://127.0.0.1:4318", serviceName: "orders")
/// let tracer = try OTLPHTTPTracer(configuration: configuration)
/// InstrumentationSystem.bootstrap(tracer)
/// ```
public struct TracingConfiguration: Sendable, Hashable {
    /// The collector's base URL (`http://host:4318`, the OTLP/HTTP port); spans are POSTed to
    /// `<endpoint>/v1/traces`. File key: `otlpEndpoint`.
    public var endpoint: String
    /// The `service.name` resource attribute every exported span carries (default `strata`).
    public var serviceName: String
    /// The share of new traces recorded, from 0 (none) to 1 (all, the default). The decision is
    /// taken once per trace, from its id, at its first span; a span continuing a trace (a
    /// `traceparent` received, or a parent span) follows the parent's decision.
    public var sampleRatio: Double
    /// The most spans sent in one request (default 512). A full batch is sent at once.
    public var batchSize: Int
    /// The longest a finished span waits before it is sent (default 5 seconds). File key:
    /// `exportIntervalSeconds`.
    public var exportInterval: Duration
    /// The most finished spans kept waiting for export (default 4,096). When the collector is
    /// slow or away and the queue is full, the oldest span is dropped and counted
    /// (``OTLPHTTPTracer/droppedSpans``): tracing never holds back the store.
    public var maxQueueSize: Int
    /// Headers sent with every export, for the collector's authentication, for example
    /// `["Authorization": "Bearer …"]`.
    public var headers: [String: String]
    /// The longest one export request may take, connecting included (default 10 seconds).
    /// File key: `timeoutSeconds`.
    public var timeout: Duration

    /// Creates a configuration.
    public init(endpoint: String, serviceName: String = "strata", sampleRatio: Double = 1, batchSize: Int = 512,
                exportInterval: Duration = .seconds(5), maxQueueSize: Int = 4096, headers: [String: String] = [:],
                timeout: Duration = .seconds(10)) {
        self.endpoint = endpoint
        self.serviceName = serviceName
        self.sampleRatio = sampleRatio
        self.batchSize = batchSize
        self.exportInterval = exportInterval
        self.maxQueueSize = maxQueueSize
        self.headers = headers
        self.timeout = timeout
    }

    /// The URL spans are POSTed to: the endpoint, without a trailing `/`, and `/v1/traces`.
    public var tracesURL: String {
        var base = Substring(endpoint)
        while base.hasSuffix("/") { base = base.dropLast() }
        return base + "/v1/traces"
    }

    /// Checks what the types cannot say.
    /// - Throws: `StrataError.invalidArgument(_:)` naming the setting by its file key
    ///   (`tracing.otlpEndpoint` …) and what it must be.
    public func validate() throws {
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty else {
            throw StrataError.invalidArgument("tracing.otlpEndpoint must be an http or https URL with a host, not \"\(endpoint)\"")
        }
        if serviceName.isEmpty { throw StrataError.invalidArgument("tracing.serviceName must not be empty") }
        guard sampleRatio.isFinite, (0...1).contains(sampleRatio) else {
            throw StrataError.invalidArgument("tracing.sampleRatio must be between 0 and 1, not \(sampleRatio)")
        }
        guard (1...100_000).contains(batchSize) else {
            throw StrataError.invalidArgument("tracing.batchSize must be between 1 and 100000, not \(batchSize)")
        }
        guard maxQueueSize >= batchSize, maxQueueSize <= 10_000_000 else {
            throw StrataError.invalidArgument("tracing.maxQueueSize must be between batchSize (\(batchSize)) and 10000000, not \(maxQueueSize)")
        }
        guard exportInterval > .zero else { throw StrataError.invalidArgument("tracing.exportIntervalSeconds must be positive") }
        guard timeout > .zero else { throw StrataError.invalidArgument("tracing.timeoutSeconds must be positive") }
    }
}

extension TracingConfiguration: Decodable {
    private enum CodingKeys: String, CodingKey {
        case otlpEndpoint, serviceName, sampleRatio, batchSize, exportIntervalSeconds, maxQueueSize, headers, timeoutSeconds
    }

    /// Reads the `tracing` object of a configuration file: `otlpEndpoint` is required, every
    /// other member optional with the defaults of ``init(endpoint:serviceName:sampleRatio:batchSize:exportInterval:maxQueueSize:headers:timeout:)``;
    /// durations are in seconds (`exportIntervalSeconds`, `timeoutSeconds`). Call
    /// ``validate()`` for the ranges.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = TracingConfiguration(endpoint: "")
        self.init(
            endpoint: try container.decode(String.self, forKey: .otlpEndpoint),
            serviceName: try container.decodeIfPresent(String.self, forKey: .serviceName) ?? defaults.serviceName,
            sampleRatio: try container.decodeIfPresent(Double.self, forKey: .sampleRatio) ?? defaults.sampleRatio,
            batchSize: try container.decodeIfPresent(Int.self, forKey: .batchSize) ?? defaults.batchSize,
            exportInterval: try Self.seconds(container, .exportIntervalSeconds) ?? defaults.exportInterval,
            maxQueueSize: try container.decodeIfPresent(Int.self, forKey: .maxQueueSize) ?? defaults.maxQueueSize,
            headers: try container.decodeIfPresent([String: String].self, forKey: .headers) ?? defaults.headers,
            timeout: try Self.seconds(container, .timeoutSeconds) ?? defaults.timeout)
    }

    private static func seconds(_ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> Duration? {
        guard let seconds = try container.decodeIfPresent(Double.self, forKey: key) else { return nil }
        guard seconds.isFinite, seconds > 0, seconds <= 86_400 else {
            throw StrataError.invalidArgument("tracing.\(key.stringValue) must be a number of seconds between 0 (excluded) and 86400, not \(seconds)")
        }
        return .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }
}
