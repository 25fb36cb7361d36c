import Foundation
import HTTPTypes
import Hummingbird
import Strata
import StrataConsumers
import StrataJSON
import StrataJSONShapes

/// Persistent subscriptions over HTTP, KurrentDB style (docs/SERVER.md, "Persistent
/// subscriptions"): the groups of ``ServerConfiguration/persistentSubscriptions`` under
/// `/subscriptions/{stream}/{group}`. A group runs in one instance at a time; asked for one
/// another instance runs, this one redirects there (307) when the owner's name is an http(s)
/// URL, else answers 409 `owned-elsewhere`.
extension Handlers {
    /// `GET /subscriptions` → `{"subscriptions": [{"stream", "group", "filter", "settings",
    /// "runningHere", "stats"}…]}`: every group (those the key's stream prefix covers), with the
    /// stats of those running on this instance (`null` for the others).
    @Sendable func subscriptionList(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let registry = try subscriptionRegistry()
        let here = Set(registry.runningHere())
        var out = JSONWriter()
        out.beginObject()
        out.key("subscriptions")
        out.beginArray()
        for definition in try await registry.list() where covers(context.principal, definition.name.stream) {
            out.beginObject()
            out.field("stream", definition.stream)
            out.field("group", definition.group)
            out.key("filter")
            if let filter = definition.filter { out.rawJSON(Data(try Handlers.encoded(filter))) } else { out.null() }
            out.key("settings")
            out.rawJSON(Data(try Handlers.encoded(definition.settings)))
            out.key("runningHere")
            out.bool(here.contains(definition.name))
            out.key("stats")
            // Running here a moment ago (a group let go in between is looked up, and taken if nobody runs it).
            if here.contains(definition.name), let running = try? await registry.subscription(definition.name) {
                out.rawJSON(Data(try Handlers.encoded(try await running.stats())))
            } else {
                out.null()
            }
            out.endObject()
        }
        out.endArray()
        out.endObject()
        return json(out.bytes)
    }

    /// `PUT /subscriptions/{stream}/{group}` with `{"settings"?: {…}, "filter"?: {…}}` (or no
    /// body) → 201 the definition; 409 `subscription-exists`.
    @Sendable func subscriptionCreate(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let (registry, name) = try subscriptionTarget(context)
        let (settings, filter) = try await subscriptionDefinition(request, name: name)
        try await registry.create(name, filter: filter, settings: settings)
        return json(try Handlers.encoded(PersistentSubscriptionDefinition(name: name, filter: filter, settings: settings)), status: .created)
    }

    /// `POST /subscriptions/{stream}/{group}` with the same body → 200 the definition; 404 when missing.
    @Sendable func subscriptionUpdate(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let (registry, name) = try subscriptionTarget(context)
        let (settings, filter) = try await subscriptionDefinition(request, name: name)
        try await registry.update(name, filter: filter, settings: settings)
        return json(try Handlers.encoded(PersistentSubscriptionDefinition(name: name, filter: filter, settings: settings)))
    }

    /// `DELETE /subscriptions/{stream}/{group}` → 204, with its checkpoint and parked events.
    @Sendable func subscriptionDelete(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let (registry, name) = try subscriptionTarget(context)
        try await registry.delete(name)
        return noContent()
    }

    /// `GET /subscriptions/{stream}/{group}/info` → the group's `PersistentSubscriptionStats`.
    @Sendable func subscriptionInfo(_ request: Request, context: StrataRequestContext) async throws -> Response {
        try await withRunningSubscription(request, context) { group in
            json(try Handlers.encoded(try await group.stats()))
        }
    }

    /// `POST /subscriptions/{stream}/{group}/read?consumer=NAME&count=N&wait=MS` →
    /// `{"messages": [{"event": {…}, "retryCount": n}…]}`. `count` (default 1) is at most
    /// `maxReadCount`; `wait` (default 0) at most `maxSubscriptionWaitMilliseconds`. A read that
    /// waits holds one of the key's subscriber slots, like `/wait`, and ends at shutdown.
    @Sendable func subscriptionRead(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let query = Query(request.uri)
        let consumer = try Handlers.consumerName(query.string("consumer"))
        let count = Int(min(try query.uint("count") ?? 1, UInt64(state.limits.maxReadCount)))
        guard count > 0 else { throw APIError.badParameter("count must be at least 1") }
        let wait = try query.uint("wait") ?? 0
        let maxWait = state.limits.maxSubscriptionWaitMilliseconds
        guard wait <= UInt64(maxWait) else { throw APIError.badParameter("wait must be at most \(maxWait) milliseconds, not \(wait)") }
        let style = try query.eventStyle()
        let bytes = try await body(request)
        if !bytes.isEmpty { try RequestBodies.check(try RequestBodies.object(bytes), allowed: [], in: "the read") }
        return try await withRunningSubscription(request, context) { group in
            let messages: [PersistentSubscriptionMessage]
            if wait == 0 {
                messages = try await group.read(consumer: consumer, maxCount: count)
            } else {
                let principal = context.principal
                try state.reserveSubscriber(principal)
                defer { state.releaseSubscriber(principal) }
                messages = try await untilShutdown { try await group.read(consumer: consumer, maxCount: count, wait: .milliseconds(wait)) } ?? []
            }
            var out = JSONWriter()
            out.beginObject()
            out.key("messages")
            out.beginArray()
            for message in messages {
                out.beginObject()
                out.key("event")
                EventJSON.write(message.event, style: style, into: &out)
                out.key("retryCount")
                out.number(message.retryCount)
                out.endObject()
            }
            out.endArray()
            out.endObject()
            state.metrics.eventsDelivered.increment(by: messages.count)
            return json(out.bytes)
        }
    }

    /// `POST /subscriptions/{stream}/{group}/ack` with `{"consumer", "ids": [uuid…]}` → 204.
    /// Ids the consumer does not hold are ignored.
    @Sendable func subscriptionAck(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let fields = try RequestBodies.object(try await body(request))
        let what = "the ack"
        try RequestBodies.check(fields, allowed: ["consumer", "ids"], in: what)
        let (consumer, ids) = try Handlers.consumerAndIDs(fields, in: what)
        return try await withRunningSubscription(request, context) { group in
            try await group.ack(consumer: consumer, ids: ids)
            return noContent()
        }
    }

    /// `POST /subscriptions/{stream}/{group}/nack` with `{"consumer", "ids", "action":
    /// "park"|"retry"|"skip"|"stop", "reason"?}` → 204.
    @Sendable func subscriptionNack(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let fields = try RequestBodies.object(try await body(request))
        let what = "the nack"
        try RequestBodies.check(fields, allowed: ["consumer", "ids", "action", "reason"], in: what)
        let (consumer, ids) = try Handlers.consumerAndIDs(fields, in: what)
        let actions = PersistentSubscriptionNackAction.allCases.map(\.rawValue).joined(separator: ", ")
        guard let text = try RequestBodies.string(fields, "action", in: what) else {
            throw APIError.malformed("\"action\" is missing in \(what) (one of \(actions))")
        }
        guard let action = PersistentSubscriptionNackAction(rawValue: text) else {
            throw APIError.badParameter("action must be one of \(actions), not \"\(text)\"")
        }
        let reason = try RequestBodies.string(fields, "reason", in: what) ?? "nacked by \(consumer)"
        return try await withRunningSubscription(request, context) { group in
            try await group.nack(consumer: consumer, ids: ids, action: action, reason: reason)
            return noContent()
        }
    }

    /// `POST /subscriptions/{stream}/{group}/replayParked?limit=N` (body `{}` or none) →
    /// `{"queued": n}`: the parked events handed out again (oldest first, all without `limit`).
    @Sendable func subscriptionReplayParked(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let limit = try Query(request.uri).uint("limit").map { Int(clamping: $0) } ?? .max
        guard limit > 0 else { throw APIError.badParameter("limit must be at least 1") }
        let bytes = try await body(request)
        if !bytes.isEmpty { try RequestBodies.check(try RequestBodies.object(bytes), allowed: [], in: "the replay") }
        return try await withRunningSubscription(request, context) { group in
            let queued = try await group.replayParked(limit: limit)
            var out = JSONWriter()
            out.beginObject()
            out.key("queued")
            out.number(queued)
            out.endObject()
            return json(out.bytes)
        }
    }

    /// `GET /subscriptions/{stream}/{group}/parked?after=POSITION&limit=N` → `{"parked":
    /// [{"position", "stream", "revision", "type", "attempts", "error", "parkedAt"}…], "next"?}`,
    /// a page of the paged answers' shape. Read from the checkpoint store: any instance answers.
    @Sendable func subscriptionParked(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let (registry, name) = try subscriptionTarget(context)
        let (after, limit) = try pageRequest(Query(request.uri))
        let page = try await registry.parked(name, after: after, limit: limit)
        return json(pageAnswer("parked", page, limit: limit, encode: \.json, next: \.position))
    }

    // MARK: Helpers

    /// The server's registry: 501 `unsupported` without one.
    private func subscriptionRegistry() throws -> PersistentSubscriptions {
        guard let registry = state.configuration.persistentSubscriptions else {
            throw StrataError.unsupported("persistent subscriptions: this server has none (strata serve keeps them in a SQLite or PostgreSQL store, or in --subscriptions DIR)")
        }
        return registry
    }

    /// Whether a key may use the groups of `stream`: a key limited to a stream prefix may use
    /// the groups of the streams it covers, and no `$all` group (a group's filter is not the key's).
    private func covers(_ principal: Principal, _ stream: String) -> Bool {
        stream == Naming.allStream ? principal.streamPrefix == nil : principal.covers(stream: stream)
    }

    /// The registry and the group the path names (percent-decoded), for a key that may use it.
    private func subscriptionTarget(_ context: StrataRequestContext) throws -> (PersistentSubscriptions, PersistentSubscriptionName) {
        let registry = try subscriptionRegistry()
        let stream = try streamParameter(context)
        guard let raw = context.parameters.get("group"), let group = raw.removingPercentEncoding else {
            throw APIError.badParameter("the group is missing from the path or not valid percent-encoding")
        }
        guard covers(context.principal, stream) else { throw APIError.outsidePrefix(stream) }
        return (registry, PersistentSubscriptionName(stream: stream, group: group))
    }

    /// Runs `body` with the group when this instance runs it (taking it when nobody does). When
    /// another instance runs it, answers 307 to the same path and query there when its name is
    /// an http(s) URL (307 keeps the method and the body), else 409 `owned-elsewhere`.
    private func withRunningSubscription(_ request: Request, _ context: StrataRequestContext,
                                         _ body: (PersistentSubscription) async throws -> Response) async throws -> Response {
        let (registry, name) = try subscriptionTarget(context)
        let group: PersistentSubscription
        do {
            group = try await registry.subscription(name)
        } catch PersistentSubscriptionError.ownedElsewhere(let name, let owner) {
            guard let base = Handlers.redirectBase(owner) else { throw PersistentSubscriptionError.ownedElsewhere(name, owner: owner) }
            let location = base + request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            var response = APIError(.temporaryRedirect, code: "owned-elsewhere", PersistentSubscriptionError.ownedElsewhere(name, owner: owner).description,
                                    details: [("stream", .string(name.stream)), ("group", .string(name.group)), ("owner", .string(owner))]).response
            response.headers[.location] = location
            return response
        }
        return try await body(group)
    }

    /// An owner's name as the base of a redirect: an `http://` or `https://` URL with a host,
    /// without a trailing `/`; nil for any other name.
    static func redirectBase(_ owner: String) -> String? {
        var base = owner
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              url.host?.isEmpty == false, url.query == nil, url.fragment == nil else { return nil }
        return base
    }

    /// Runs `work` until it returns or the server begins shutting down; at shutdown it is
    /// cancelled and what it returns anyway (events it had taken) is kept: nil when it gave up.
    private func untilShutdown<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T? {
        let shutdown = state.shutdown
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                do { return try await work() } catch is CancellationError { return nil }
            }
            group.addTask {
                for await _ in shutdown.stream() { break }
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            var result = first
            while let next = try await group.next() { result = result ?? next }
            return result
        }
    }

    /// The settings and filter of a create or update body (`{"settings"?, "filter"?}`, or no
    /// body): settings missing from `settings` keep their defaults; unknown ones are refused.
    private func subscriptionDefinition(_ request: Request, name: PersistentSubscriptionName) async throws -> (PersistentSubscriptionSettings, EventFilter?) {
        let bytes = try await body(request)
        guard !bytes.isEmpty else { return (PersistentSubscriptionSettings(), nil) }
        let what = "the subscription"
        let fields = try RequestBodies.object(bytes)
        try RequestBodies.check(fields, allowed: ["settings", "filter"], in: what)
        var settings = PersistentSubscriptionSettings()
        if let raw = fields.raw("settings"), !raw.elementsEqual("null".utf8) {
            let nested = try RequestBodies.nested(raw, in: "settings")
            try RequestBodies.check(nested, allowed: Handlers.settingNames, in: "settings")
            settings = try Handlers.decode(PersistentSubscriptionSettings.self, raw, in: "settings")
        }
        var filter: EventFilter?
        if let raw = fields.raw("filter"), !raw.elementsEqual("null".utf8) {
            guard name.stream == Naming.allStream else { throw APIError.badParameter("only a $all persistent subscription takes a filter") }
            let nested = try RequestBodies.nested(raw, in: "filter")
            try RequestBodies.check(nested, allowed: ["streamPrefixes", "eventTypes"], in: "filter")
            filter = EventFilter(streamPrefixes: try RequestBodies.strings(nested, "streamPrefixes", in: "filter"),
                                 eventTypes: Set(try RequestBodies.strings(nested, "eventTypes", in: "filter")))
        }
        return (settings, filter)
    }

    /// The names of the settings, as the settings encode themselves.
    private static let settingNames: Set<String> = {
        guard let bytes = try? encoded(PersistentSubscriptionSettings()), let fields = try? JSONObjectFields(bytes) else { return [] }
        return Set(fields.fields.map(\.name))
    }()

    private static func decode<T: Decodable>(_ type: T.Type, _ raw: ArraySlice<UInt8>, in what: String) throws(APIError) -> T {
        do { return try StrataJSONDecoder().decode(type, from: Data(raw)) } catch {
            throw APIError.badParameter("\(what): \(ServerConfiguration.describe(error))")
        }
    }

    /// A value as sorted-key JSON (definitions, settings, filters, stats).
    static func encoded(_ value: some Encodable) throws -> [UInt8] {
        let encoder = StrataJSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }

    /// `consumer` of a read, ack or nack: required, 1–255 bytes.
    static func consumerName(_ text: String?) throws(APIError) -> String {
        guard let text, !text.isEmpty else { throw APIError.badParameter("consumer is required: the name of the consumer reading") }
        guard text.utf8.count <= 255 else { throw APIError.badParameter("consumer must be at most 255 bytes") }
        return text
    }

    /// `consumer` and `ids` of an ack or nack body.
    static func consumerAndIDs(_ fields: JSONObjectFields, in what: String) throws(APIError) -> (String, [UUID]) {
        let consumer = try consumerName(try RequestBodies.string(fields, "consumer", in: what))
        guard fields.raw("ids") != nil else { throw APIError.malformed("\"ids\" is missing in \(what)") }
        var ids: [UUID] = []
        for text in try RequestBodies.strings(fields, "ids", in: what) {
            guard let id = UUID(uuidString: text) else { throw APIError.malformed("\"ids\" holds \"\(text)\", not a UUID, in \(what)") }
            ids.append(id)
        }
        return (consumer, ids)
    }
}
