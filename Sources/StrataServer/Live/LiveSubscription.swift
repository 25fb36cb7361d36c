import AsyncAlgorithms
import Hummingbird
import Strata
import StrataWire

/// What a subscription request asks for, parsed the same way for SSE and WebSocket.
struct LiveRequest: Sendable {
    /// `$all` (with its filter) or one stream.
    let target: Subscription.Target
    /// Where to start.
    let start: SubscriptionStart
    /// How events are written.
    let style: EventJSON.Style

    var isAll: Bool { if case .all = target { true } else { false } }

    /// Parses the stream path parameter, the query and the resume id (`Last-Event-ID` or
    /// `lastEventId`), and checks the principal may read what is asked.
    init(stream: String, query: Query, resumeAfter: String?, principal: Principal) throws(APIError) {
        if stream == Naming.allStream {
            let filter = try query.filter(restrictedTo: principal.streamPrefix)
            target = .all(filter)
        } else {
            do { try Naming.validateReadableStreamName(stream) } catch let e as StrataError { throw APIError(e) } catch { throw APIError.from(error) }
            guard principal.covers(stream: stream) else { throw APIError.outsidePrefix(stream) }
            target = .stream(stream)
        }
        if let resume = resumeAfter?.trimmingSpaces(), !resume.isEmpty {
            guard let n = UInt64(resume) else { throw APIError.badParameter("Last-Event-ID \"\(resume)\" is not a number") }
            start = .after(n)
        } else if let after = try query.uint("after") {
            start = .after(after)
        } else {
            switch query.string("from") {
            case nil, "start": start = .start
            case "end": start = .end
            case let other?: throw APIError.badParameter("from must be start or end for a subscription, not \"\(other)\"")
            }
        }
        style = try query.eventStyle()
    }
}

/// One thing to send on a live connection.
enum LiveItem: Sendable {
    case message(SubscriptionMessage)
    case heartbeat
    case shutdown
}

extension LiveRequest {
    /// The subscription's messages merged with heartbeats and the shutdown signal. Merging
    /// keeps the subscription pull-based: it reads its next page only when this is iterated.
    func items(store: any EventStore, heartbeat: Duration, shutdown: ShutdownSignal) -> some AsyncSequence<LiveItem, any Error> & Sendable {
        let subscription = Subscription(store: store, target: target, start: start)
        return merge(
            subscription.map { LiveItem.message($0) },
            AsyncTimerSequence(interval: heartbeat, clock: .continuous).map { _ in LiveItem.heartbeat },
            shutdown.stream().map { LiveItem.shutdown }
        )
    }
}
