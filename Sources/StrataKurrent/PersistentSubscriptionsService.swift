import Foundation
import GRPCCore
import Strata
import StrataConsumers
import StrataServer
import Synchronization

/// KurrentDB's `PersistentSubscriptions` service over the server's ``PersistentSubscriptions``
/// registry: the same groups the HTTP routes serve, kept with the store (docs/CONSUMERS.md).
struct PersistentSubscriptionsService: EventStore_Client_PersistentSubscriptions_PersistentSubscriptions.ServiceProtocol {
    typealias Service = EventStore_Client_PersistentSubscriptions_PersistentSubscriptions
    let state: ServerState

    private func registry() throws -> PersistentSubscriptions {
        guard let registry = state.configuration.persistentSubscriptions else {
            throw RPCError(code: .unimplemented, message: "this server keeps no persistent subscriptions (strata serve keeps them with a SQLite, PostgreSQL or JetStream store, or in --subscriptions DIR)")
        }
        return registry
    }

    // MARK: Create, update, delete

    func create(request: ServerRequest<EventStore_Client_PersistentSubscriptions_CreateReq>, context: ServerContext) async throws
        -> ServerResponse<EventStore_Client_PersistentSubscriptions_CreateResp> {
        let principal = try KurrentCall.admit(request.metadata, state: state, scope: .admin)
        return try await KurrentCall.run {
            let options = request.message.options
            let source = try Self.source(options.streamOption, legacy: options.streamIdentifier, principal: principal)
            var settings = try Self.settings(options.settings, strategy: options.settings.consumerStrategy.isEmpty
                                             ? Self.strategyName(options.settings.namedConsumerStrategy.rawValue) : options.settings.consumerStrategy)
            settings.startFrom = source.start
            try await registry().create(PersistentSubscriptionName(stream: source.stream, group: options.groupName), filter: source.filter, settings: settings)
            return ServerResponse(message: .init())
        }
    }

    func update(request: ServerRequest<EventStore_Client_PersistentSubscriptions_UpdateReq>, context: ServerContext) async throws
        -> ServerResponse<EventStore_Client_PersistentSubscriptions_UpdateResp> {
        let principal = try KurrentCall.admit(request.metadata, state: state, scope: .admin)
        return try await KurrentCall.run {
            let options = request.message.options
            let stream: String
            let start: PersistentSubscriptionSettings.StartFrom
            switch options.streamOption {
            case .stream(let s)?:
                stream = try KurrentMapping.streamName(s.streamIdentifier)
                start = switch s.revisionOption {
                case .revision(let r)?: r == 0 ? .start : .after(r)
                case .end?: .end
                case .start?, nil: .start
                }
            case .all(let a)?:
                stream = Naming.allStream
                start = switch a.allOption {
                case .position(let p)?: p.commitPosition == 0 ? .start : .after(p.commitPosition - 1)
                case .end?: .end
                case .start?, nil: .start
                }
            case nil:
                stream = try KurrentMapping.streamName(options.streamIdentifier)
                start = .start
            }
            if stream != Naming.allStream { try KurrentCall.check(principal, covers: stream) }
            let name = PersistentSubscriptionName(stream: stream, group: options.groupName)
            let registry = try registry()
            guard let existing = try await registry.list().first(where: { $0.name == name }) else { throw PersistentSubscriptionError.notFound(name) }
            var settings = try Self.settings(options.settings, strategy: Self.strategyName(options.settings.namedConsumerStrategy.rawValue))
            settings.startFrom = start
            try await registry.update(name, filter: existing.filter, settings: settings)
            return ServerResponse(message: .init())
        }
    }

    func delete(request: ServerRequest<EventStore_Client_PersistentSubscriptions_DeleteReq>, context: ServerContext) async throws
        -> ServerResponse<EventStore_Client_PersistentSubscriptions_DeleteResp> {
        let principal = try KurrentCall.admit(request.metadata, state: state, scope: .admin)
        return try await KurrentCall.run {
            let options = request.message.options
            let stream = try Self.streamName(options.streamOption.map { if case .streamIdentifier(let s) = $0 { .stream(s) } else { .all } }, principal: principal)
            try await registry().delete(PersistentSubscriptionName(stream: stream, group: options.groupName))
            return ServerResponse(message: .init())
        }
    }

    // MARK: Information

    func getInfo(request: ServerRequest<EventStore_Client_PersistentSubscriptions_GetInfoReq>, context: ServerContext) async throws
        -> ServerResponse<EventStore_Client_PersistentSubscriptions_GetInfoResp> {
        let principal = try KurrentCall.admit(request.metadata, state: state, scope: .read)
        return try await KurrentCall.run {
            let options = request.message.options
            let stream = try Self.streamName(options.streamOption.map { if case .streamIdentifier(let s) = $0 { .stream(s) } else { .all } }, principal: principal)
            let name = PersistentSubscriptionName(stream: stream, group: options.groupName)
            let stats = try await registry().subscription(name).stats()
            var response = EventStore_Client_PersistentSubscriptions_GetInfoResp()
            response.subscriptionInfo = Self.info(name: name, settings: stats.settings, stats: stats)
            return ServerResponse(message: response)
        }
    }

    func list(request: ServerRequest<EventStore_Client_PersistentSubscriptions_ListReq>, context: ServerContext) async throws
        -> ServerResponse<EventStore_Client_PersistentSubscriptions_ListResp> {
        let principal = try KurrentCall.admit(request.metadata, state: state, scope: .read)
        return try await KurrentCall.run {
            var only: String?
            if case .listForStream(let s)? = request.message.options.listOption {
                only = try Self.streamName(s.streamOption.map { if case .stream(let id) = $0 { .stream(id) } else { .all } }, principal: principal)
            }
            let registry = try registry()
            var response = EventStore_Client_PersistentSubscriptions_ListResp()
            for definition in try await registry.list() where only == nil || definition.stream == only {
                guard definition.stream == Naming.allStream || principal.covers(stream: definition.stream) else { continue }
                let stats = registry.runningHere().contains(definition.name) ? try? await registry.subscription(definition.name).stats() : nil
                response.subscriptions.append(Self.info(name: definition.name, settings: definition.settings, stats: stats))
            }
            if let only, response.subscriptions.isEmpty {
                throw RPCError(code: .notFound, message: "no persistent subscription on stream \(only)")
            }
            return ServerResponse(message: response)
        }
    }

    func replayParked(request: ServerRequest<EventStore_Client_PersistentSubscriptions_ReplayParkedReq>, context: ServerContext) async throws
        -> ServerResponse<EventStore_Client_PersistentSubscriptions_ReplayParkedResp> {
        let principal = try KurrentCall.admit(request.metadata, state: state, scope: .admin)
        return try await KurrentCall.run {
            let options = request.message.options
            let stream = try Self.streamName(options.streamOption.map { if case .streamIdentifier(let s) = $0 { .stream(s) } else { .all } }, principal: principal)
            let limit: Int = if case .stopAt(let n)? = options.stopAtOption, n >= 0 { Int(n) } else { .max }
            _ = try await registry().subscription(PersistentSubscriptionName(stream: stream, group: options.groupName)).replayParked(limit: limit)
            return ServerResponse(message: .init())
        }
    }

    func restartSubsystem(request: ServerRequest<EventStore_Client_Empty>, context: ServerContext) async throws -> ServerResponse<EventStore_Client_Empty> {
        _ = try KurrentCall.admit(request.metadata, state: state, scope: .admin)
        throw RPCError(code: .unimplemented, message: "Strata's persistent subscriptions have no subsystem to restart")
    }

    // MARK: Read

    func read(request: StreamingServerRequest<EventStore_Client_PersistentSubscriptions_ReadReq>, context: ServerContext) async throws
        -> StreamingServerResponse<EventStore_Client_PersistentSubscriptions_ReadResp> {
        let principal = try KurrentCall.admit(request.metadata, state: state, scope: .read)
        let state = self.state
        let registry = try registry()
        return StreamingServerResponse { writer in
            try await KurrentCall.run {
                let inbound = Inbound(request.messages.makeAsyncIterator())
                guard let first = try await inbound.iterator.next(), case .options(let options)? = first.content else {
                    throw RPCError(code: .invalidArgument, message: "a persistent subscription read begins with its options")
                }
                let stream = try Self.streamName(options.streamOption.map { if case .streamIdentifier(let s) = $0 { .stream(s) } else { .all } }, principal: principal)
                let name = PersistentSubscriptionName(stream: stream, group: options.groupName)
                let subscription = try await registry.subscription(name)
                let structured = if case .structured? = options.uuidOption.content { true } else { false }
                // The client's buffer, bounded: a hostile client gets no more in flight than readBatchSize allows at most.
                let bufferSize = min(max(1, Int(options.bufferSize)), 10_000)
                let consumer = "grpc:\(principal.name):\(UUID().uuidString.lowercased())"
                try state.reserveSubscriber(principal)
                defer { state.releaseSubscriber(principal) }
                // Delivered and not yet acked or nacked: the client's buffer.
                let inFlight = InFlight()
                let (space, spaceMade) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
                // Reading the events stops when the client stops sending (it closed its side).
                let _: Void = try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        // The first read joins the group (refused past maxSubscriberCount) before the confirmation.
                        var batch = try await subscription.read(consumer: consumer, maxCount: bufferSize)
                        var confirmation = EventStore_Client_PersistentSubscriptions_ReadResp()
                        confirmation.subscriptionConfirmation.subscriptionID = "\(name)"
                        try await writer.write(confirmation)
                        var wake = space.makeAsyncIterator()
                        while !Task.isCancelled && !state.shutdown.isTriggered {
                            for message in batch {
                                inFlight.ids.withLock { _ = $0.insert(message.event.id) }
                                try await writer.write(Self.readEvent(message, structured: structured))
                            }
                            var room = bufferSize - inFlight.ids.withLock { $0.count }
                            while room <= 0 && !Task.isCancelled {
                                _ = await wake.next()
                                room = bufferSize - inFlight.ids.withLock { $0.count }
                            }
                            batch = try await subscription.read(consumer: consumer, maxCount: room, wait: .milliseconds(500))
                        }
                        if state.shutdown.isTriggered { throw RPCError(code: .unavailable, message: "Server is shutting down.") }
                    }
                    group.addTask {
                        while let message = try await inbound.iterator.next() {
                            switch message.content {
                            case .ack(let ack)?:
                                let ids = ack.ids.compactMap(KurrentMapping.uuid)
                                try await subscription.ack(consumer: consumer, ids: ids)
                                inFlight.ids.withLock { $0.subtract(ids) }
                            case .nack(let nack)?:
                                let ids = nack.ids.compactMap(KurrentMapping.uuid)
                                let action: PersistentSubscriptionNackAction = switch nack.action {
                                case .park: .park
                                case .skip: .skip
                                case .stop: .stop
                                default: .retry
                                }
                                try await subscription.nack(consumer: consumer, ids: ids, action: action, reason: nack.reason)
                                inFlight.ids.withLock { $0.subtract(ids) }
                            case .options?, nil:
                                throw RPCError(code: .invalidArgument, message: "a persistent subscription read sends its options once, first")
                            }
                            spaceMade.yield()
                        }
                    }
                    defer { group.cancelAll() }
                    // Whichever side ends first ends the call: the client closing its side, a failure, or shutdown.
                    try await group.next()
                }
                await subscription.disconnect(consumer)
            }
            return [:]
        }
    }

    static func readEvent(_ message: PersistentSubscriptionMessage, structured: Bool) -> EventStore_Client_PersistentSubscriptions_ReadResp {
        var recorded = EventStore_Client_PersistentSubscriptions_ReadResp.ReadEvent.RecordedEvent()
        KurrentMapping.fill(&recorded, message.event, structuredIDs: structured)
        var read = EventStore_Client_PersistentSubscriptions_ReadResp.ReadEvent()
        read.event = recorded
        read.commitPosition = message.event.position
        read.retryCount = Int32(clamping: message.retryCount)
        var response = EventStore_Client_PersistentSubscriptions_ReadResp()
        response.event = read
        return response
    }

    // MARK: Mapping

    enum StreamChoice { case stream(EventStore_Client_StreamIdentifier), all }

    static func streamName(_ choice: StreamChoice?, principal: Principal) throws -> String {
        switch choice {
        case .stream(let identifier)?:
            let stream = try KurrentMapping.streamName(identifier)
            try KurrentCall.check(principal, covers: stream)
            return stream
        case .all?, nil:
            return Naming.allStream
        }
    }

    /// The stream (or `$all`), the filter and the start of a group being created.
    static func source(_ option: EventStore_Client_PersistentSubscriptions_CreateReq.Options.OneOf_StreamOption?,
                       legacy: EventStore_Client_StreamIdentifier, principal: Principal) throws
        -> (stream: String, filter: EventFilter?, start: PersistentSubscriptionSettings.StartFrom) {
        switch option {
        case .stream(let s)?:
            let stream = try KurrentMapping.streamName(s.streamIdentifier)
            try KurrentCall.check(principal, covers: stream)
            // The protocol's start revision is the first one delivered: after the one before it.
            let start: PersistentSubscriptionSettings.StartFrom = switch s.revisionOption {
            case .revision(let r)?: r == 0 ? .start : .after(r)
            case .end?: .end
            case .start?, nil: .start
            }
            return (stream, nil, start)
        case .all(let a)?:
            let start: PersistentSubscriptionSettings.StartFrom = switch a.allOption {
            case .position(let p)?: p.commitPosition <= 1 ? .start : .after(p.commitPosition - 1)
            case .end?: .end
            case .start?, nil: .start
            }
            var prefixes: [String] = []
            if case .filter(let f)? = a.filterOption {
                switch f.filter {
                case .streamIdentifier(let e)? where e.regex.isEmpty: prefixes = e.prefix
                case .eventType(let e)? where e.prefix.isEmpty && e.regex == clientsDefaultExclusion: break
                case nil: break
                default:
                    throw RPCError(code: .invalidArgument, message: "persistent subscriptions to $all filter by stream-name prefixes only (docs/KURRENTDB.md)")
                }
            }
            let narrowed = try KurrentFilter.streamPrefixes(prefixes, within: principal.streamPrefix)
            return (Naming.allStream, narrowed.isEmpty ? nil : EventFilter(streamPrefixes: narrowed), start)
        case nil:
            let stream = try KurrentMapping.streamName(legacy)
            try KurrentCall.check(principal, covers: stream)
            return (stream, nil, .start)
        }
    }

    /// The event-type exclusion the clients send by default (system events, `PersistentConfigN`
    /// and `Result`): Strata's `$all` holds no system events, so it is accepted and not applied.
    static let clientsDefaultExclusion = #"^(?!(\$.+$|PersistentConfig\d+$|Result$))"#

    static func strategyName(_ named: Int) -> String {
        switch named {
        case 1: "RoundRobin"
        case 2: "Pinned"
        default: "DispatchToSingle"
        }
    }

    static func settings(_ s: some KurrentSubscriptionSettings, strategy: String) throws -> PersistentSubscriptionSettings {
        var settings = PersistentSubscriptionSettings()
        if let ms = s.messageTimeoutMilliseconds { settings.messageTimeoutMilliseconds = ms }
        settings.maxRetryCount = Int(s.maxRetryCount)
        if let ms = s.checkpointAfterMilliseconds { settings.checkpointAfterMilliseconds = ms }
        if s.minCheckpointCount > 0 { settings.minCheckpointCount = Int(s.minCheckpointCount) }
        if s.maxCheckpointCount > 0 { settings.maxCheckpointCount = Int(s.maxCheckpointCount) }
        settings.maxSubscriberCount = Int(max(0, s.maxSubscriberCount))
        if s.readBatchSize > 0 { settings.readBatchSize = Int(s.readBatchSize) }
        settings.bufferSize = max(settings.readBatchSize, Int(s.liveBufferSize), Int(s.historyBufferSize), settings.bufferSize)
        guard let chosen = PersistentSubscriptionSettings.ConsumerStrategy(rawValue: strategy) else {
            throw RPCError(code: .invalidArgument, message: "consumer strategy \(strategy) is not served (RoundRobin, DispatchToSingle, Pinned)")
        }
        settings.consumerStrategy = chosen
        try settings.validate()
        return settings
    }

    /// A group's information as the clients read it: positions as the protocol prints them
    /// (`C:<commit>/P:<prepare>` for `$all`, a 0-based revision for a stream).
    static func info(name: PersistentSubscriptionName, settings: PersistentSubscriptionSettings, stats: PersistentSubscriptionStats?)
        -> EventStore_Client_PersistentSubscriptions_SubscriptionInfo {
        let isAll = name.stream == Naming.allStream
        func printed(_ key: UInt64?) -> String {
            guard let key else { return "" }
            return isAll ? "C:\(key)/P:\(key)" : String(KurrentMapping.revision(key))
        }
        var info = EventStore_Client_PersistentSubscriptions_SubscriptionInfo()
        info.eventSource = name.stream
        info.groupName = name.group
        info.status = stats?.status ?? "Live"
        info.startFrom = switch settings.startFrom {
        case .start: isAll ? "C:0/P:0" : "0"
        case .end: isAll ? "C:-1/P:-1" : "-1"
        case .after(let key): isAll ? "C:\(key + 1)/P:\(key + 1)" : String(key)
        }
        info.messageTimeoutMilliseconds = Int32(clamping: settings.messageTimeoutMilliseconds)
        info.maxRetryCount = Int32(clamping: settings.maxRetryCount)
        info.liveBufferSize = Int32(clamping: settings.bufferSize)
        info.bufferSize = Int32(clamping: settings.bufferSize)
        info.readBatchSize = Int32(clamping: settings.readBatchSize)
        info.checkPointAfterMilliseconds = Int32(clamping: settings.checkpointAfterMilliseconds)
        info.minCheckPointCount = Int32(clamping: settings.minCheckpointCount)
        info.maxCheckPointCount = Int32(clamping: settings.maxCheckpointCount)
        info.maxSubscriberCount = Int32(clamping: settings.maxSubscriberCount)
        info.namedConsumerStrategy = settings.consumerStrategy.rawValue
        if let stats {
            info.lastCheckpointedEventPosition = printed(stats.lastCheckpoint)
            info.lastKnownEventPosition = printed(stats.lastKnownEvent)
            info.totalItems = Int64(clamping: stats.totalAcked + stats.totalNacked)
            info.readBufferCount = Int32(clamping: stats.readBufferCount)
            info.retryBufferCount = Int32(clamping: stats.retryBufferCount)
            info.totalInFlightMessages = Int32(clamping: stats.inFlightCount)
            info.outstandingMessagesCount = Int32(clamping: stats.inFlightCount)
            info.parkedMessageCount = Int64(stats.parkedCount)
            info.connections = stats.connections.map { connection in
                var c = EventStore_Client_PersistentSubscriptions_SubscriptionInfo.ConnectionInfo()
                c.from = connection.consumer
                c.connectionName = connection.consumer
                c.inFlightMessages = Int32(clamping: connection.inFlight)
                c.totalItems = Int64(clamping: connection.acked + connection.nacked)
                return c
            }
        }
        return info
    }
}

/// The client's messages of one read call: read first by the call for its options, then only by
/// the task that applies acks and nacks, never by two tasks at once.
private final class Inbound: @unchecked Sendable {
    var iterator: RPCAsyncSequence<EventStore_Client_PersistentSubscriptions_ReadReq, any Error>.AsyncIterator
    init(_ iterator: RPCAsyncSequence<EventStore_Client_PersistentSubscriptions_ReadReq, any Error>.AsyncIterator) { self.iterator = iterator }
}

/// The ids a persistent-subscription reader delivered and the client has not yet acked or nacked.
private final class InFlight: Sendable {
    let ids = Mutex(Set<UUID>())
}

/// The settings both `CreateReq` and `UpdateReq` carry, read alike.
protocol KurrentSubscriptionSettings {
    var messageTimeoutMilliseconds: Int? { get }
    var checkpointAfterMilliseconds: Int? { get }
    var maxRetryCount: Int32 { get }
    var minCheckpointCount: Int32 { get }
    var maxCheckpointCount: Int32 { get }
    var maxSubscriberCount: Int32 { get }
    var liveBufferSize: Int32 { get }
    var readBatchSize: Int32 { get }
    var historyBufferSize: Int32 { get }
}

extension EventStore_Client_PersistentSubscriptions_CreateReq.Settings: KurrentSubscriptionSettings {
    var messageTimeoutMilliseconds: Int? {
        switch messageTimeout {
        case .messageTimeoutMs(let ms)?: Int(ms)
        case .messageTimeoutTicks(let ticks)?: Int(ticks / 10_000)
        case nil: nil
        }
    }
    var checkpointAfterMilliseconds: Int? {
        switch checkpointAfter {
        case .checkpointAfterMs(let ms)?: Int(ms)
        case .checkpointAfterTicks(let ticks)?: Int(ticks / 10_000)
        case nil: nil
        }
    }
}

extension EventStore_Client_PersistentSubscriptions_UpdateReq.Settings: KurrentSubscriptionSettings {
    var messageTimeoutMilliseconds: Int? {
        switch messageTimeout {
        case .messageTimeoutMs(let ms)?: Int(ms)
        case .messageTimeoutTicks(let ticks)?: Int(ticks / 10_000)
        case nil: nil
        }
    }
    var checkpointAfterMilliseconds: Int? {
        switch checkpointAfter {
        case .checkpointAfterMs(let ms)?: Int(ms)
        case .checkpointAfterTicks(let ticks)?: Int(ticks / 10_000)
        case nil: nil
        }
    }
}
