import Foundation
import Hummingbird
import HummingbirdCore
import Strata
import StrataJSONShapes
import StrataJSON

/// Appends, reads, stream info, deletes, metadata, listings, head and long-poll.
extension Handlers {
    @Sendable func appendToStream(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let stream = try coveredStream(context)
        let append = try RequestBodies.append(stream: stream, body: try await body(request), limits: state.limits)
        let results = try await state.append([append], condition: nil)
        return json(EventJSON.encode(results[0]))
    }

    @Sendable func appendMany(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let (requests, condition) = try RequestBodies.multiAppend(body: try await body(request), limits: state.limits)
        for r in requests where !context.principal.covers(stream: r.stream) { throw APIError.outsidePrefix(r.stream) }
        let results = try await state.append(requests, condition: condition)
        var out = JSONWriter()
        out.beginObject()
        out.key("results")
        out.beginArray()
        for result in results { EventJSON.write(result, into: &out) }
        out.endArray()
        out.endObject()
        return json(out.bytes)
    }

    @Sendable func read(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let stream = try streamParameter(context)
        let query = Query(request.uri)
        let limit = Int(min(try query.uint("limit") ?? 100, UInt64(state.limits.maxReadCount)))
        let origin = try query.origin()
        let direction = try query.direction()
        let style = try query.eventStyle()
        let started = ContinuousClock.now
        var out = JSONWriter()
        out.beginObject()
        out.key("events")
        out.beginArray()
        let count: Int
        if stream == Naming.allStream {
            let filter = try query.filter(restrictedTo: context.principal.streamPrefix)
            let page = try await state.store.readAllPage(from: origin, direction: direction, filter: filter, maxCount: limit)
            count = writeEvents(page.events, style: style, into: &out)
            out.endArray()
            out.key("next")
            // A page cut by size continues at its first event left out.
            let next = count < page.events.count ? page.events[count].position : page.next
            if let next { out.number(next) } else { out.null() }
            out.field("scannedThrough", count < page.events.count ? page.events[count - 1].position : page.scannedThrough)
            if direction == .forward && next == nil { state.metrics.sawHead(page.scannedThrough) }
        } else {
            guard context.principal.covers(stream: stream) else { throw APIError.outsidePrefix(stream) }
            let page = try await state.store.readStreamPage(stream, from: origin, direction: direction, maxCount: limit)
            count = writeEvents(page.events, style: style, into: &out)
            out.endArray()
            out.key("next")
            let next = count < page.events.count ? page.events[count].revision : page.next
            if let next { out.number(next) } else { out.null() }
        }
        out.endObject()
        state.metrics.readRequests.increment()
        state.metrics.eventsRead.increment(by: count)
        state.metrics.readDuration.record(duration: .now - started)
        return json(out.bytes)
    }

    /// Writes events until the response would pass ``ServerLimits/maxResponseBytes`` (always at
    /// least one); returns how many were written.
    func writeEvents(_ events: [RecordedEvent], style: EventJSON.Style, into out: inout JSONWriter) -> Int {
        let limit = state.limits.maxResponseBytes
        for (index, event) in events.enumerated() {
            let mark = out.bytes.count
            EventJSON.write(event, style: style, into: &out)
            if index > 0 && out.bytes.count > limit {
                out.truncate(to: mark)
                return index
            }
        }
        return events.count
    }

    @Sendable func streamInfo(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let stream = try coveredStream(context)
        let exact = try Query(request.uri).eventStyle() == .exact
        let info = try await state.store.streamInfo(stream)
        var out = JSONWriter()
        out.beginObject()
        out.field("stream", info.stream)
        out.key("exists"); out.bool(info.exists)
        out.field("lastRevision", info.lastRevision)
        out.key("eventCount"); out.number(info.eventCount)
        out.key("isDeleted"); out.bool(info.isDeleted)
        out.key("isTombstoned"); out.bool(info.isTombstoned)
        out.key("metadata")
        StreamMetadataJSON.write(info.metadata, exact: exact, into: &out)
        out.endObject()
        return json(out.bytes)
    }

    @Sendable func deleteStream(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let stream = try coveredStream(context)
        let query = Query(request.uri)
        var expected = ExpectedRevision.any
        if let text = query.string("expectedRevision") {
            guard let parsed = ExpectedRevision(parsing: text) else {
                throw APIError.badParameter("expectedRevision must be any, no-stream, stream-exists or a revision, not \"\(text)\"")
            }
            expected = parsed
        }
        let mode: DeleteMode
        switch query.string("mode") {
        case nil, "soft": mode = .soft
        case "tombstone": mode = .tombstone
        case let other?: throw APIError.badParameter("mode must be soft or tombstone, not \"\(other)\"")
        }
        try await state.store.deleteStream(stream, expectedRevision: expected, mode: mode)
        return noContent()
    }

    @Sendable func setMetadata(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let stream = try coveredStream(context)
        let metadata = try RequestBodies.metadata(body: try await body(request))
        try await state.store.setStreamMetadata(stream, metadata)
        return noContent()
    }

    @Sendable func listStreams(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let query = Query(request.uri)
        var prefix = query.string("prefix") ?? ""
        if let keyPrefix = context.principal.streamPrefix {
            if keyPrefix.utf8.starts(with: prefix.utf8) {
                prefix = keyPrefix
            } else if !prefix.utf8.starts(with: keyPrefix.utf8) {
                throw APIError.outsidePrefix(prefix)
            }
        }
        let limit = Int(min(try query.uint("limit") ?? 100, UInt64(state.limits.maxReadCount)))
        let names = try await state.store.listStreamsPage(prefix: prefix, after: query.string("after"), maxCount: limit)
        var out = JSONWriter()
        out.beginObject()
        out.key("streams")
        out.beginArray()
        for name in names { out.string(name) }
        out.endArray()
        out.key("next")
        if names.count == limit, limit > 0, let last = names.last { out.string(last) } else { out.null() }
        out.endObject()
        return json(out.bytes)
    }

    @Sendable func head(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let head = try await state.store.headPosition()
        state.metrics.sawHead(head)
        return json(Handlers.headBody(head))
    }

    static func headBody(_ head: UInt64) -> [UInt8] {
        var out = JSONWriter()
        out.beginObject()
        out.field("headPosition", head)
        out.endObject()
        return out.bytes
    }

    /// Long poll: returns when the head passes `after`, when `timeout` ms pass, or at shutdown.
    @Sendable func waitForAppends(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let query = Query(request.uri)
        guard let after = try query.uint("after") else { throw APIError.badParameter("after is required") }
        let timeout = Int(try query.uint("timeout") ?? 25_000)
        guard timeout <= 60_000 else { throw APIError.badParameter("timeout must be at most 60000 milliseconds, not \(timeout)") }
        let store = state.store
        let shutdown = state.shutdown
        // A long poll holds a connection like a subscription does, and counts as one.
        let principal = context.principal
        try state.reserveSubscriber(principal)
        defer { state.releaseSubscriber(principal) }
        if try await store.headPosition() <= after {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await store.waitForAppends(after: after) }
                group.addTask { try? await Task.sleep(for: .milliseconds(timeout)) }
                group.addTask { for await _ in shutdown.stream() { break } }
                await group.next()
                group.cancelAll()
            }
        }
        let head = try await store.headPosition()
        state.metrics.sawHead(head)
        return json(Handlers.headBody(head))
    }
}
