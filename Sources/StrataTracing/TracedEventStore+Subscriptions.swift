import Strata
import Synchronization
import Tracing

extension TracedEventStore {
    /// Subscribes to `$all` like the protocol's method, with one `strata.subscribe` span over
    /// the catch-up (see ``TracedEventStore``, "Subscriptions").
    public func subscribeToAll(from start: SubscriptionStart = .start, filter: EventFilter = EventFilter()) -> Subscription {
        var attributes = Self.start(start, number: "strata.position")
        attributes["strata.stream"] = "$all"
        Self.add(filter, to: &attributes)
        return Subscription(store: catchingUp(attributes), target: .all(filter), start: start)
    }

    /// Subscribes to one stream like the protocol's method, with one `strata.subscribe` span
    /// over the catch-up (see ``TracedEventStore``, "Subscriptions").
    public func subscribe(toStream stream: String, from start: SubscriptionStart = .start) -> Subscription {
        var attributes = Self.start(start, number: "strata.revision")
        attributes["strata.stream"] = stream
        return Subscription(store: catchingUp(attributes), target: .stream(stream), start: start)
    }

    /// The store a traced subscription reads through: this one, with the subscription's
    /// catch-up in one span instead of a span per page. The span starts at the first page read
    /// (a subscription is lazy: in the context of the task that iterates it) and ends at the
    /// first page that reaches the head (`strata.caught_up` true), at an error (recorded), or
    /// when the subscription is dropped before catching up (`strata.caught_up` false). Later
    /// page reads are not traced.
    private func catchingUp(_ attributes: SpanAttributes) -> TracedEventStore {
        var store = self
        store.catchUp = CatchUp(owner: self, attributes: attributes)
        return store
    }

    /// `strata.origin` (`start`, `end`, `after`) and, after a position or revision, `number`.
    static func start(_ start: SubscriptionStart, number: String) -> SpanAttributes {
        switch start {
        case .start: ["strata.origin": "start"]
        case .end: ["strata.origin": "end"]
        case .after(let n): ["strata.origin": "after", number: int(n)]
        }
    }
}

extension TracedEventStore {
    /// The catch-up span of one subscription (shared by its copies).
    final class CatchUp: Sendable {
        private enum Phase {
            /// No read yet.
            case waiting
            /// Catching up in `span`, `events` delivered so far.
            case open(any Span, events: Int)
            /// Caught up, failed, or not traced: reads go straight to the store.
            case done
        }

        private let owner: TracedEventStore
        private let attributes: SpanAttributes
        private let phase = Mutex(Phase.waiting)

        init(owner: TracedEventStore, attributes: SpanAttributes) {
            self.owner = owner
            self.attributes = attributes
        }

        deinit {
            // Dropped before catching up: the span still ends, saying so.
            phase.withLock { phase in
                if case .open(let span, let events) = phase { Self.finish(span, events: events, caughtUp: false) }
                phase = .done
            }
        }

        /// Reads a page through `body`; while catching up, inside the span, counting its events
        /// and ending the span at the head.
        func read<Page: CatchUpPage>(_ body: () async throws -> Page) async throws -> Page {
            guard let span = current() else { return try await body() }
            let page: Page
            do {
                page = try await InstrumentationContext.withValue(span.context) { try await body() }
            } catch StrataError.streamNotFound(let stream) {
                // A stream subscription waits for a stream that does not exist yet: caught up.
                close { span, events in
                    span.attributes["strata.stream_exists"] = false
                    Self.finish(span, events: events, caughtUp: true)
                }
                throw StrataError.streamNotFound(stream)
            } catch {
                close { span, events in
                    TracedEventStore.record(error, on: span)
                    Self.finish(span, events: events, caughtUp: false)
                }
                throw error
            }
            phase.withLock { phase in
                if case .open(let span, let events) = phase { phase = .open(span, events: events + page.events.count) }
            }
            if page.next == nil { close { span, events in Self.finish(span, events: events, caughtUp: true) } }
            return page
        }

        /// The open span, started by the first read; `nil` once done, or when not traced.
        private func current() -> (any Span)? {
            let started: (any Span)? = phase.withLock { phase in
                switch phase {
                case .open(let span, _): return span
                case .done: return nil
                case .waiting:
                    guard owner.tracesReadNow else {
                        phase = .done
                        return nil
                    }
                    let span = owner.startSpan("strata.subscribe", attributes)
                    phase = .open(span, events: 0)
                    return span
                }
            }
            return started
        }

        /// Ends the open span with `finish` (once).
        private func close(_ finish: (any Span, Int) -> Void) {
            let open: (any Span, Int)? = phase.withLock { phase in
                defer { phase = .done }
                if case .open(let span, let events) = phase { return (span, events) }
                return nil
            }
            if let (span, events) = open { finish(span, events) }
        }

        private static func finish(_ span: any Span, events: Int, caughtUp: Bool) {
            span.updateAttributes {
                $0["strata.event_count"] = events
                $0["strata.caught_up"] = caughtUp
            }
            span.end()
        }
    }
}

/// A page a subscription reads: its events, and where it continues (`nil`: the head).
protocol CatchUpPage {
    var events: [RecordedEvent] { get }
    var next: UInt64? { get }
}

extension AllPage: CatchUpPage {}
extension StreamPage: CatchUpPage {}
