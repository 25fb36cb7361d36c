import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Strata
import StrataServer
import Synchronization
import StrataTestSupport
import Testing

/// A small HTTP receiver on 127.0.0.1 and a free port: records every request to `/ingest` and
/// answers what `respond` says for the request's index (0-based): a status, after a delay.
final class Receiver: Sendable {
    struct Received: Sendable {
        let index: Int
        let status: Int
        let at: ContinuousClock.Instant
        let contentType: String?
        let authorization: String?
        /// The events of the body, as JSON objects.
        let events: [[String: any Sendable]]
        var ids: [String] { events.compactMap { $0["id"] as? String } }
    }

    typealias Respond = @Sendable (Int) -> (status: Int, delay: Duration?)

    private let log: Locked<[Received]>
    private let group: ServiceGroup
    private let task: Task<Void, any Error>
    let port: Int
    var url: String { "http://127.0.0.1:\(port)/ingest" }

    static let quiet: Logger = {
        var logger = Logger(label: "strata.emitter.test")
        logger.logLevel = .critical
        return logger
    }()

    init(respond: @escaping Respond = { _ in (200, nil) }) async throws {
        let router = Router()
        let log = Locked<[Received]>([])
        self.log = log
        let arrivals = Locked<Int>(0)
        router.post("/ingest") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 64 << 20)
            let index = arrivals.withLock { count -> Int in
                defer { count += 1 }
                return count
            }
            let (status, delay) = respond(index)
            if let delay { try await Task.sleep(for: delay) }
            let object = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any]
            let events = (object?["events"] as? [[String: Any]] ?? []).map { event in
                event.mapValues { value -> any Sendable in Receiver.sendable(value) }
            }
            log.withLock {
                $0.append(Received(index: index, status: status, at: .now, contentType: request.headers[.contentType],
                                   authorization: request.headers[.authorization], events: events))
            }
            return Response(status: HTTPResponse.Status(code: status))
        }
        let ports = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in ports.continuation.yield(channel.localAddress?.port ?? 0) },
                              logger: Receiver.quiet)
        let group = ServiceGroup(configuration: .init(services: [app], logger: Receiver.quiet))
        self.group = group
        self.task = Task { try await group.run() }
        var iterator = ports.stream.makeAsyncIterator()
        self.port = await iterator.next() ?? 0
    }

    static func sendable(_ value: Any) -> any Sendable {
        switch value {
        case let s as String: return s
        case let n as NSNumber: return n.doubleValue
        case let d as [String: Any]: return d.mapValues { sendable($0) } as [String: any Sendable]
        case let a as [Any]: return a.map { sendable($0) } as [any Sendable]
        default: return "\(value)"
        }
    }

    /// Every request answered so far, in the order of the answers (`index` is the order of arrival).
    var received: [Received] { log.withLock { $0 } }
    /// The requests answered 2xx.
    var accepted: [Received] { received.filter { (200..<300).contains($0.status) } }
    /// The distinct event ids of accepted requests.
    var deliveredIDs: Set<String> { Set(accepted.flatMap(\.ids)) }

    /// Waits (polling, bounded) until `condition` holds for the requests so far.
    func waitUntil(_ what: String, timeout: Duration = .seconds(60), _ condition: ([Received]) -> Bool) async throws {
        try await Wait.until(what, timeout: timeout) { condition(received) }
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// A StrataServer on a free port over an in-memory store, for end-to-end tests of `/ingest`.
final class IngestServer: Sendable {
    let store = InMemoryEventStore()
    let server: StrataHTTPServer
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let port: Int
    var url: String { "http://127.0.0.1:\(port)/ingest" }

    init() async throws {
        server = try StrataHTTPServer(store: store, configuration: ServerConfiguration(port: 0), logger: Receiver.quiet)
        let group = ServiceGroup(configuration: .init(services: [server], logger: Receiver.quiet))
        self.group = group
        task = Task { try await group.run() }
        port = try await server.waitUntilRunning()
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// A value behind a lock, shareable by reference (closures capture the box).
// @unchecked Sendable: `value` is only touched under `lock`.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// The metadata of a recorded event as a JSON object.
func metadataObject(_ event: RecordedEvent) throws -> [String: Any] {
    let bytes = try #require(event.metadata, "event \(event.position) has no metadata")
    return try #require(try JSONSerialization.jsonObject(with: bytes) as? [String: Any])
}
