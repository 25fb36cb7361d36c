import Hummingbird
import Strata
import StrataJSONShapes

/// What a subscription request asks for, parsed the same way for SSE and WebSocket.
package struct LiveRequest: Sendable {
    /// `$all` (with its filter) or one stream.
    package let target: Subscription.Target
    /// Where to start.
    let start: SubscriptionStart
    /// How events are written.
    let style: EventJSON.Style

    var isAll: Bool { if case .all = target { true } else { false } }

    package init(target: Subscription.Target, start: SubscriptionStart, style: EventJSON.Style) {
        self.target = target
        self.start = start
        self.style = style
    }

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
        if let resumed = try LiveRequest.resumePoint(lastEventID: resumeAfter, after: query.uint("after")) {
            start = resumed
        } else {
            switch query.string("from") {
            case nil, "start": start = .start
            case "end": start = .end
            case let other?: throw APIError.badParameter("from must be start or end for a subscription, not \"\(other)\"")
            }
        }
        style = try query.eventStyle()
    }

    /// Where a live connection resumes: after the `Last-Event-ID` (or `lastEventId`) when one is
    /// given, else after the `after` parameter; `nil` when neither is.
    static func resumePoint(lastEventID: String?, after: UInt64?) throws(APIError) -> SubscriptionStart? {
        if let resume = lastEventID?.trimmingSpaces(), !resume.isEmpty {
            guard let n = UInt64(resume) else { throw APIError.badParameter("Last-Event-ID \"\(resume)\" is not a number") }
            return .after(n)
        }
        return after.map { .after($0) }
    }
}

extension LiveRequest {
    /// Runs the subscription, handing each item to `send`, until shutdown (then it returns), the
    /// client goes away (`send` throws) or the store fails (it throws).
    ///
    /// An `$all` subscription catches up through the store, then follows the server's shared
    /// ``LiveTail`` while its next position is inside the tail's window, reading from the store
    /// again whenever it falls behind. It delivers the same messages, in the same order, as a
    /// ``Subscription`` of its own would. A stream subscription (or any subscription when the
    /// tail is not running) uses a subscription of its own.
    package func pump(state: ServerState, send: (LiveItem) async throws -> Void) async throws {
        guard case .all(let filter) = target else {
            return try await pumpAlone(start: start, state: state, send: send)
        }
        // Catch up through the store, up to the caught-up marker.
        var iterator = Subscription(store: state.store, target: target, start: start).makeAsyncIterator()
        var covered: UInt64 = 0
        if case .after(let p) = start { covered = p }
        catchUp: while true {
            if state.shutdown.isTriggered { return }
            guard let message = try await iterator.next() else { return }
            try await send(.message(message))
            switch message {
            case .event(let event): covered = Swift.max(covered, event.position)
            case .checkpoint(let p): covered = Swift.max(covered, p)
            case .caughtUp(let p):
                covered = Swift.max(covered, p)
                break catchUp
            }
        }
        var cursor = covered == UInt64.max ? covered : covered + 1
        state.tail.attach()
        defer { state.tail.detach() }
        while true {
            switch state.tail.read(from: cursor, maxCount: Subscription.pageSize) {
            case .entries(let entries, let through):
                var lastMatched: UInt64 = 0
                for entry in entries where filter.isEmpty || filter.matches(stream: entry.event.stream, type: entry.event.type) {
                    try await send(.shared(entry))
                    lastMatched = entry.event.position
                }
                if let checkpoint = Subscription.checkpoint(filter: filter, from: cursor, scannedThrough: through, lastEvent: lastMatched) {
                    try await send(.message(.checkpoint(checkpoint)))
                }
                cursor = Swift.max(cursor, through + 1)
            case .behind:
                let page = try await state.store.readAllPage(from: .at(cursor), direction: .forward, filter: filter, maxCount: Subscription.pageSize)
                for event in page.events { try await send(.message(.event(event))) }
                let lastEvent = page.events.last?.position ?? 0
                if let checkpoint = Subscription.checkpoint(filter: filter, from: cursor, scannedThrough: page.scannedThrough, lastEvent: lastEvent) {
                    try await send(.message(.checkpoint(checkpoint)))
                }
                cursor = page.next ?? Swift.max(cursor, page.scannedThrough + 1)
            case .upToDate:
                switch await state.tail.wait(after: cursor - 1) {
                case .progressed: continue
                case .tick: try await send(.heartbeat)
                case .stopped:
                    if state.shutdown.isTriggered || Task.isCancelled { return }
                    return try await pumpAlone(start: .after(cursor - 1), state: state, send: send, caughtUpSent: true)
                }
            case .unavailable:
                if state.shutdown.isTriggered { return }
                return try await pumpAlone(start: .after(cursor - 1), state: state, send: send, caughtUpSent: true)
            }
        }
    }

    /// A subscription of its own, merged with heartbeats and the shutdown signal. After a
    /// hand-over from the tail the caught-up marker, already sent, is not repeated.
    private func pumpAlone(start: SubscriptionStart, state: ServerState, send: (LiveItem) async throws -> Void,
                           caughtUpSent: Bool = false) async throws {
        let subscription = Subscription(store: state.store, target: target, start: start)
        try await LiveDelivery.forward(LiveDelivery.merged(subscription.map { LiveItem.message($0) }, state: state)) { item in
            if case .message(.caughtUp) = item, caughtUpSent { return }
            try await send(item)
        }
    }

    /// How this subscription's items are written.
    var encoding: LiveEncoding { LiveEncoding(isAll: isAll, style: style) }
}
