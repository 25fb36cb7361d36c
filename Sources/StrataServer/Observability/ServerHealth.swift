import Logging
import Strata
import Synchronization

/// What keeps the server from being ready (`/health/ready`): a store that stopped (after an I/O
/// failure, or closed) and background consumers (document views, the live tail) that an error
/// stopped. Each stop is logged with its error and counted in
/// `strata_background_stops_total{component=…}` once, when it happens; a component that works
/// again (a store that answers, a document collection opened again) is ready again.
final class ServerHealth: Sendable {
    /// The kinds of component, the `component` label of the stop counter.
    enum Kind: String, Sendable, CaseIterable {
        case store
        case documents
        case liveTail = "live-tail"
    }

    /// Component → the error that stopped it, for the components that block readiness.
    private let problems = Mutex<[String: String]>([:])
    private let logger: Logger
    private let metrics: ServerMetrics

    init(logger: Logger, metrics: ServerMetrics) {
        self.logger = logger
        self.metrics = metrics
    }

    /// Records that `component` stopped with `error`: logged and counted the first time.
    /// - Parameter blocksReadiness: whether the server is not ready while it stays stopped.
    func stopped(_ component: String, kind: Kind, error: any Error, blocksReadiness: Bool = true) {
        let reason = "\(error)"
        let isNew = problems.withLock { problems -> Bool in
            let isNew = problems[component] == nil
            if blocksReadiness { problems[component] = reason }
            return isNew
        }
        guard isNew else { return }
        logger.error("\(component) stopped: \(reason)",
                     metadata: ["component": .string(component), "kind": .string(kind.rawValue), "error": .string(reason)])
        metrics.backgroundStopped(kind.rawValue)
    }

    /// The component name of a document collection's view.
    static func component(collection: String) -> String { "documents/\(collection)" }

    /// Records that `component` works (again).
    func recovered(_ component: String) {
        let was = problems.withLock { $0.removeValue(forKey: component) }
        if was != nil { logger.notice("\(component) works again", metadata: ["component": .string(component)]) }
    }

    /// Records a store error seen by a request or a probe: `storeClosed` means the store stopped.
    func storeFailed(_ error: any Error) {
        if case .storeClosed? = error as? StrataError { stopped("store", kind: .store, error: error) }
    }

    /// Why the server is not ready, one `component: reason` each, sorted; empty when ready.
    var reasons: [String] {
        problems.withLock { problems in problems.keys.sorted().map { "\($0): \(problems[$0]!)" } }
    }
}
