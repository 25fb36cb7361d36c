import Hummingbird
import Logging
import ServiceLifecycle
import StrataJSON
import Synchronization

/// An OTLP/HTTP collector for the tests, on 127.0.0.1 and a free port: keeps every request to
/// `/v1/traces` (headers and JSON body) and answers `status`.
final class CollectorStub: Sendable {
    struct Export: Sendable {
        let contentType: String?
        let authorization: String?
        let body: JSONValue

        /// The exported spans, in the body's order.
        var spans: [JSONValue] {
            body["resourceSpans"]?.arrayValue?.flatMap { resource in
                (resource["scopeSpans"]?.arrayValue ?? []).flatMap { $0["spans"]?.arrayValue ?? [] }
            } ?? []
        }

        /// The spans' names.
        var names: [String] { spans.compactMap { $0["name"]?.stringValue } }
    }

    /// The exports, shared with the route.
    private final class Log: Sendable {
        let exports = Mutex<[Export]>([])
    }

    private let log: Log
    private let group: ServiceGroup
    private let task: Task<Void, any Error>
    let port: Int
    var endpoint: String { "http://127.0.0.1:\(port)" }

    static let quiet: Logger = {
        var logger = Logger(label: "strata.tracing.test")
        logger.logLevel = .critical
        return logger
    }()

    init(status: HTTPResponse.Status = .ok) async throws {
        let router = Router()
        let log = Log()
        self.log = log
        router.post("/v1/traces") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 << 20)
            let json = try JSONValue(parsing: Array(body.readableBytesView))
            log.exports.withLock {
                $0.append(Export(contentType: request.headers[.contentType], authorization: request.headers[.authorization], body: json))
            }
            return Response(status: status)
        }
        let ports = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in ports.continuation.yield(channel.localAddress?.port ?? 0) },
                              logger: CollectorStub.quiet)
        let group = ServiceGroup(configuration: .init(services: [app], logger: CollectorStub.quiet))
        self.group = group
        self.task = Task { try await group.run() }
        var iterator = ports.stream.makeAsyncIterator()
        self.port = await iterator.next() ?? 0
    }

    /// The exports received so far.
    var exports: [Export] { log.exports.withLock { $0 } }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

extension JSONValue {
    /// The attributes of an OTLP object (`[{"key", "value"}]`) by key, each value an `AnyValue`
    /// object such as `{"stringValue": "a"}`.
    var otlpAttributes: [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for attribute in self["attributes"]?.arrayValue ?? [] {
            guard let key = attribute["key"]?.stringValue, let value = attribute["value"] else { continue }
            result[key] = value
        }
        return result
    }

    /// An OTLP `AnyValue` object: `{"<kind>": value}`.
    static func otlp(_ kind: String, _ value: JSONValue) -> JSONValue { .object([JSONMember(kind, value)]) }
}
