import Foundation
import GRPCCore
import Strata
import StrataServer
import SwiftProtobuf

/// KurrentDB's `event_store.client.streams.Streams` service over the server's store: reads of a
/// stream and of `$all` (forwards, backwards, filtered), catch-up subscriptions that go live
/// through the server's shared live tail, appends (`Append` and `BatchAppend`), deletes and
/// tombstones (docs/KURRENTDB.md).
struct StreamsService: EventStore_Client_Streams_Streams.ServiceProtocol {
    typealias ReadReq = EventStore_Client_Streams_ReadReq
    typealias ReadResp = EventStore_Client_Streams_ReadResp

    let state: ServerState

    /// The largest page one store read asks for.
    static let pageSize = 1000

    // MARK: Read and subscribe

    func read(request: ServerRequest<ReadReq>, context: ServerContext) async throws -> StreamingServerResponse<ReadResp> {
        let principal = try KurrentCall.admit(request.metadata, state: state, scope: .read)
        let options = request.message.options
        let structured = if case .structured? = options.uuidOption.content { true } else { false }
        let direction: ReadDirection = options.readDirection == .backwards ? .backward : .forward
        let filter: KurrentFilter
        switch options.filterOption {
        case .filter(let f)?: filter = try KurrentFilter(f, restrictedTo: principal.streamPrefix)
        default: filter = KurrentFilter(restrictedTo: principal.streamPrefix)
        }
        switch (options.streamOption, options.countOption) {
        case (.stream(let s)?, .count(let count)?):
            let stream = try KurrentMapping.streamName(s.streamIdentifier)
            try KurrentCall.check(principal, covers: MetadataStream.subject(of: stream) ?? stream)
            return StreamingServerResponse { writer in
                try await KurrentCall.run {
                    try await readStream(stream, from: s.revisionOption, direction: direction, count: count, structured: structured, writer: writer)
                }
                return [:]
            }
        case (.all(let a)?, .count(let count)?):
            return StreamingServerResponse { writer in
                try await KurrentCall.run {
                    try await readAll(from: a.allOption, direction: direction, filter: filter, count: count, structured: structured, writer: writer)
                }
                return [:]
            }
        case (.stream(let s)?, .subscription?):
            let stream = try KurrentMapping.streamName(s.streamIdentifier)
            guard MetadataStream.subject(of: stream) == nil else {
                throw RPCError(code: .unimplemented, message: "subscriptions to metadata streams ($$…) are not served; read the stream instead")
            }
            try KurrentCall.check(principal, covers: stream)
            let start: SubscriptionStart = switch s.revisionOption {
            case .revision(let r)?: .after(KurrentMapping.strataRevision(r))
            case .end?: .end
            case .start?, nil: .start
            }
            return subscribe(LiveRequest(target: .stream(stream), start: start, style: .api), filter: nil, principal: principal, structured: structured)
        case (.all(let a)?, .subscription?):
            let start: SubscriptionStart = switch a.allOption {
            case .position(let p)?: .after(p.commitPosition)
            case .end?: .end
            case .start?, nil: .start
            }
            return subscribe(LiveRequest(target: .all(filter.store), start: start, style: .api), filter: filter, principal: principal, structured: structured)
        default:
            throw RPCError(code: .invalidArgument, message: "a read needs a stream or $all, and a count or a subscription")
        }
    }

    private func readStream(_ stream: String, from revision: ReadReq.Options.StreamOptions.OneOf_RevisionOption?, direction: ReadDirection,
                            count: UInt64, structured: Bool, writer: RPCWriter<ReadResp>) async throws {
        if let subject = MetadataStream.subject(of: stream) {
            let info = try await state.store.streamInfo(subject)
            guard let event = MetadataStream.event(stream: subject, metadata: info.metadata) else {
                return try await writer.write(Self.streamNotFound(stream))
            }
            let startsAfterIt = if case .revision(let r)? = revision, direction == .forward, r > 0 { true } else { false }
            if count > 0 && !startsAfterIt { try await writer.write(KurrentMapping.readEvent(event, structuredIDs: structured)) }
            return
        }
        var origin: ReadOrigin = switch revision {
        case .revision(let r)?: .at(KurrentMapping.strataRevision(r))
        case .end?: .end
        case .start?: .start
        case nil: direction == .forward ? .start : .end
        }
        var remaining = count
        var first = true
        while remaining > 0 {
            let page: StreamPage
            do {
                page = try await state.store.readStreamPage(stream, from: origin, direction: direction, maxCount: Int(min(remaining, UInt64(Self.pageSize))))
            } catch StrataError.streamNotFound where first {
                return try await writer.write(Self.streamNotFound(stream))
            }
            first = false
            // A page at a time: one hop through the transport's writer per page, not per event.
            try await writer.write(contentsOf: page.events.map { KurrentMapping.readEvent($0, structuredIDs: structured) })
            remaining -= UInt64(page.events.count)
            guard let next = page.next, !page.events.isEmpty else { return }
            origin = .at(next)
        }
    }

    private func readAll(from position: ReadReq.Options.AllOptions.OneOf_AllOption?, direction: ReadDirection, filter: KurrentFilter,
                         count: UInt64, structured: Bool, writer: RPCWriter<ReadResp>) async throws {
        var origin: ReadOrigin = switch position {
        case .position(let p)?: .at(p.commitPosition)
        case .end?: .end
        case .start?: .start
        case nil: direction == .forward ? .start : .end
        }
        var remaining = count
        while remaining > 0 {
            let page = try await state.store.readAllPage(from: origin, direction: direction, filter: filter.store,
                                                         maxCount: Int(min(filter.filtersHere ? UInt64(Self.pageSize) : remaining, UInt64(Self.pageSize))))
            let matched = Array(page.events.lazy.filter { filter.matches($0) }.prefix(Int(min(remaining, UInt64(Int.max)))))
            try await writer.write(contentsOf: matched.map { KurrentMapping.readEvent($0, structuredIDs: structured) })
            remaining -= UInt64(matched.count)
            guard remaining > 0, let next = page.next else { return }
            origin = .at(next)
        }
    }

    /// A catch-up subscription: the confirmation, stored events, the caught-up marker, then live
    /// events, with checkpoints for a filtered `$all`; until the client cancels or the server stops.
    private func subscribe(_ live: LiveRequest, filter: KurrentFilter?, principal: Principal, structured: Bool) -> StreamingServerResponse<ReadResp> {
        let state = self.state
        return StreamingServerResponse { writer in
            try await KurrentCall.run {
                try state.reserveSubscriber(principal)
                defer { state.releaseSubscriber(principal) }
                var confirmation = ReadResp()
                confirmation.confirmation.subscriptionID = UUID().uuidString.lowercased()
                try await writer.write(confirmation)
                try await live.pump(state: state) { item in
                    switch item {
                    case .message(.event(let event)):
                        if filter?.matches(event) ?? true { try await writer.write(KurrentMapping.readEvent(event, structuredIDs: structured)) }
                    case .shared(let entry):
                        if filter?.matches(entry.event) ?? true { try await writer.write(KurrentMapping.readEvent(entry.event, structuredIDs: structured)) }
                    case .message(.checkpoint(let position)):
                        var checkpoint = ReadResp()
                        checkpoint.checkpoint.commitPosition = position
                        checkpoint.checkpoint.preparePosition = position
                        checkpoint.checkpoint.timestamp = KurrentMapping.now()
                        try await writer.write(checkpoint)
                    case .message(.caughtUp(let at)):
                        var caughtUp = EventStore_Client_Streams_ReadResp.CaughtUp()
                        caughtUp.timestamp = KurrentMapping.now()
                        if case .stream = live.target {
                            if at > 0 { caughtUp.streamRevision = Int64(KurrentMapping.revision(at)) }
                        } else {
                            caughtUp.position.commitPosition = at
                            caughtUp.position.preparePosition = at
                        }
                        var response = ReadResp()
                        response.caughtUp = caughtUp
                        try await writer.write(response)
                    case .heartbeat, .change, .cdc, .shutdown:
                        break
                    }
                }
                if state.shutdown.isTriggered { throw RPCError(code: .unavailable, message: "Server is shutting down.") }
            }
            return [:]
        }
    }

    static func streamNotFound(_ stream: String) -> ReadResp {
        var response = ReadResp()
        response.streamNotFound.streamIdentifier = KurrentMapping.identifier(stream)
        return response
    }

    // MARK: Append

    /// One append: the protocol's expected revision and events, to a stream or (for `$$name`)
    /// to the stream's metadata.
    struct Proposal {
        var stream: String
        var expected: ExpectedRevision
        var events: [EventData]
    }

    /// Appends one proposal; a wrong expected revision is returned (the caller answers it in its
    /// own message), any other failure thrown.
    func append(_ proposal: Proposal) async throws -> Result<(revision: UInt64?, position: UInt64?), StrataError> {
        if let subject = MetadataStream.subject(of: proposal.stream) {
            return try await appendMetadata(proposal, subject: subject)
        }
        do {
            if proposal.events.isEmpty {
                // Nothing to write: the expected revision is still checked, as KurrentDB does.
                let info = try await state.store.streamInfo(proposal.stream)
                if info.isTombstoned { throw StrataError.streamTombstoned(proposal.stream) }
                let actual: UInt64? = info.exists ? info.lastRevision : nil
                switch proposal.expected {
                case .any: break
                case .noStream where actual != nil, .streamExists where actual == nil:
                    return .failure(.wrongExpectedRevision(stream: proposal.stream, expected: proposal.expected, actual: actual))
                case .exact(let n) where actual != n:
                    return .failure(.wrongExpectedRevision(stream: proposal.stream, expected: proposal.expected, actual: actual))
                default: break
                }
                return .success((actual, nil))
            }
            let result = try await state.append([AppendRequest(stream: proposal.stream, expectedRevision: proposal.expected, events: proposal.events)],
                                                condition: nil)[0]
            return .success((result.lastRevision, result.lastPosition))
        } catch let error as StrataError {
            if case .wrongExpectedRevision = error { return .failure(error) }
            throw error
        }
    }

    /// An append to `$$subject`: one `$metadata` event whose JSON becomes the stream's metadata.
    private func appendMetadata(_ proposal: Proposal, subject: String) async throws -> Result<(revision: UInt64?, position: UInt64?), StrataError> {
        guard proposal.events.count == 1, let event = proposal.events.first, event.type == MetadataStream.eventType else {
            throw StrataError.invalidAppend(reason: "a metadata stream ($$name) takes exactly one $metadata event per append")
        }
        let metadata = try MetadataStream.metadata(from: event.data, id: event.id)
        let current = try await state.store.streamInfo(subject).metadata
        let actual: UInt64? = current.isEmpty ? nil : 1
        switch proposal.expected {
        case .any: break
        case .noStream where actual != nil, .streamExists where actual == nil:
            return .failure(.wrongExpectedRevision(stream: proposal.stream, expected: proposal.expected, actual: actual))
        case .exact(let n) where actual != n:
            return .failure(.wrongExpectedRevision(stream: proposal.stream, expected: proposal.expected, actual: actual))
        default: break
        }
        try await state.store.setStreamMetadata(subject, metadata)
        return .success((1, nil))
    }

    func append(request: StreamingServerRequest<EventStore_Client_Streams_AppendReq>, context: ServerContext) async throws -> ServerResponse<EventStore_Client_Streams_AppendResp> {
        let principal = try KurrentCall.admit(request.metadata, state: state, scope: .write)
        return try await KurrentCall.run {
            var proposal: Proposal?
            for try await message in request.messages {
                switch message.content {
                case .options(let options)?:
                    guard proposal == nil else { throw RPCError(code: .invalidArgument, message: "the append's options came twice") }
                    let stream = try KurrentMapping.streamName(options.streamIdentifier)
                    try KurrentCall.check(principal, covers: MetadataStream.subject(of: stream) ?? stream)
                    let expected: ExpectedRevision = switch options.expectedStreamRevision {
                    case .revision(let r)?: .exact(KurrentMapping.strataRevision(r))
                    case .noStream?: .noStream
                    case .streamExists?: .streamExists
                    case .any?, nil: .any
                    }
                    proposal = Proposal(stream: stream, expected: expected, events: [])
                case .proposedMessage(let m)?:
                    guard proposal != nil else { throw RPCError(code: .invalidArgument, message: "an append must send its options first") }
                    proposal!.events.append(try KurrentMapping.eventData(id: m.id, metadata: m.metadata, customMetadata: m.customMetadata, data: m.data))
                case nil:
                    throw RPCError(code: .invalidArgument, message: "an append message has no content")
                }
            }
            guard let proposal else { throw RPCError(code: .invalidArgument, message: "an append without options") }
            var response = EventStore_Client_Streams_AppendResp()
            switch try await append(proposal) {
            case .success(let (revision, position)):
                var success = EventStore_Client_Streams_AppendResp.Success()
                if let revision { success.currentRevision = KurrentMapping.revision(revision) } else { success.noStream = .init() }
                if let position {
                    success.position.commitPosition = position
                    success.position.preparePosition = position
                } else {
                    success.noPosition = .init()
                }
                response.success = success
            case .failure(.wrongExpectedRevision(_, let expected, let actual)):
                var wrong = EventStore_Client_Streams_AppendResp.WrongExpectedVersion()
                if let actual { wrong.currentRevision = KurrentMapping.revision(actual) } else { wrong.currentNoStream = .init() }
                switch expected {
                case .exact(let n): wrong.expectedRevision = KurrentMapping.revision(n)
                case .any: wrong.expectedAny = .init()
                case .streamExists: wrong.expectedStreamExists = .init()
                case .noStream: wrong.expectedNoStream = .init()
                }
                response.wrongExpectedVersion = wrong
            case .failure(let error):
                throw error
            }
            return ServerResponse(message: response)
        }
    }

    func batchAppend(request: StreamingServerRequest<EventStore_Client_Streams_BatchAppendReq>, context: ServerContext) async throws -> StreamingServerResponse<EventStore_Client_Streams_BatchAppendResp> {
        let principal = try KurrentCall.admit(request.metadata, state: state, scope: .write)
        return StreamingServerResponse { writer in
            try await KurrentCall.run {
                // Requests of one correlation id gather until the one marked final.
                var pending: [EventStore_Client_UUID: (options: EventStore_Client_Streams_BatchAppendReq.Options, events: [EventData])] = [:]
                for try await message in request.messages {
                    var entry = pending[message.correlationID] ?? (message.options, [])
                    if message.hasOptions { entry.options = message.options }
                    var failure: Google_Rpc_Status?
                    do {
                        for m in message.proposedMessages {
                            entry.events.append(try KurrentMapping.eventData(id: m.id, metadata: m.metadata, customMetadata: m.customMetadata, data: m.data))
                        }
                    } catch {
                        failure = BatchAppendErrors.status(error)
                    }
                    guard message.isFinal || failure != nil else {
                        pending[message.correlationID] = entry
                        continue
                    }
                    pending[message.correlationID] = nil
                    try await writer.write(await batchAppend(message.correlationID, entry.options, entry.events, principal: principal, failure: failure))
                }
            }
            return [:]
        }
    }

    private func batchAppend(_ correlation: EventStore_Client_UUID, _ options: EventStore_Client_Streams_BatchAppendReq.Options, _ events: [EventData],
                             principal: Principal, failure: Google_Rpc_Status?) async -> EventStore_Client_Streams_BatchAppendResp {
        var response = EventStore_Client_Streams_BatchAppendResp()
        response.correlationID = correlation
        response.streamIdentifier = options.streamIdentifier
        let expected: ExpectedRevision
        switch options.expectedStreamPosition {
        case .streamPosition(let r)?:
            response.streamPosition = r
            expected = .exact(KurrentMapping.strataRevision(r))
        case .noStream?:
            response.noStream = .init()
            expected = .noStream
        case .streamExists?:
            response.streamExists = .init()
            expected = .streamExists
        case .any?, nil:
            response.any = .init()
            expected = .any
        }
        if let failure {
            response.error = failure
            return response
        }
        do {
            let stream = try KurrentMapping.streamName(options.streamIdentifier)
            try KurrentCall.check(principal, covers: MetadataStream.subject(of: stream) ?? stream)
            switch try await append(Proposal(stream: stream, expected: expected, events: events)) {
            case .success(let (revision, position)):
                var success = EventStore_Client_Streams_BatchAppendResp.Success()
                if let revision { success.currentRevision = KurrentMapping.revision(revision) } else { success.noStream = .init() }
                if let position {
                    success.position.commitPosition = position
                    success.position.preparePosition = position
                } else {
                    success.noPosition = .init()
                }
                response.success = success
            case .failure(let error):
                response.error = BatchAppendErrors.status(error)
            }
        } catch {
            response.error = BatchAppendErrors.status(error)
        }
        return response
    }

    // MARK: Delete and tombstone

    func delete(request: ServerRequest<EventStore_Client_Streams_DeleteReq>, context: ServerContext) async throws -> ServerResponse<EventStore_Client_Streams_DeleteResp> {
        let options = request.message.options
        let expected: ExpectedRevision = switch options.expectedStreamRevision {
        case .revision(let r)?: .exact(KurrentMapping.strataRevision(r))
        case .noStream?: .noStream
        case .streamExists?: .streamExists
        case .any?, nil: .any
        }
        try await remove(request.metadata, options.streamIdentifier, expected: expected, mode: .soft)
        var response = EventStore_Client_Streams_DeleteResp()
        response.noPosition = .init()
        return ServerResponse(message: response)
    }

    func tombstone(request: ServerRequest<EventStore_Client_Streams_TombstoneReq>, context: ServerContext) async throws -> ServerResponse<EventStore_Client_Streams_TombstoneResp> {
        let options = request.message.options
        let expected: ExpectedRevision = switch options.expectedStreamRevision {
        case .revision(let r)?: .exact(KurrentMapping.strataRevision(r))
        case .noStream?: .noStream
        case .streamExists?: .streamExists
        case .any?, nil: .any
        }
        try await remove(request.metadata, options.streamIdentifier, expected: expected, mode: .tombstone)
        var response = EventStore_Client_Streams_TombstoneResp()
        response.noPosition = .init()
        return ServerResponse(message: response)
    }

    private func remove(_ metadata: Metadata, _ identifier: EventStore_Client_StreamIdentifier, expected: ExpectedRevision, mode: DeleteMode) async throws {
        let principal = try KurrentCall.admit(metadata, state: state, scope: .write)
        try await KurrentCall.run {
            let stream = try KurrentMapping.streamName(identifier)
            try KurrentCall.check(principal, covers: stream)
            guard MetadataStream.subject(of: stream) == nil else {
                throw RPCError(code: .invalidArgument, message: "a metadata stream ($$name) is not deleted; delete the stream itself")
            }
            try await state.store.deleteStream(stream, expectedRevision: expected, mode: mode)
        }
    }
}

/// The `google.rpc.Status` a batch append answers a failure with; its detail is one of the
/// protocol's error messages, which the clients unpack by type.
enum BatchAppendErrors {
    static func status(_ error: any Error) -> Google_Rpc_Status {
        var status = Google_Rpc_Status()
        status.message = "\(error)"
        func detail(_ message: some SwiftProtobuf.Message) { status.details = (try? Google_Protobuf_Any(message: message)) ?? Google_Protobuf_Any() }
        switch error {
        case StrataError.wrongExpectedRevision(_, let expected, let actual):
            status.code = .failedPrecondition
            var wrong = EventStore_Client_WrongExpectedVersion()
            if let actual { wrong.currentStreamRevision = KurrentMapping.revision(actual) } else { wrong.currentNoStream = .init() }
            switch expected {
            case .exact(let n): wrong.expectedStreamPosition = KurrentMapping.revision(n)
            case .any: wrong.expectedAny = .init()
            case .streamExists: wrong.expectedStreamExists = .init()
            case .noStream: wrong.expectedNoStream = .init()
            }
            detail(wrong)
        case StrataError.streamTombstoned(let stream):
            status.code = .failedPrecondition
            var deleted = EventStore_Client_StreamDeleted()
            deleted.streamIdentifier = KurrentMapping.identifier(stream)
            detail(deleted)
        case StrataError.eventTooLarge(_, _, let limit):
            status.code = .invalidArgument
            var exceeded = EventStore_Client_MaximumAppendSizeExceeded()
            exceeded.maxAppendSize = UInt32(clamping: limit)
            detail(exceeded)
        case let e as StrataError where KurrentCall.rpcError(e).code == .invalidArgument:
            status.code = .invalidArgument
            var bad = EventStore_Client_BadRequest()
            bad.message = e.description
            detail(bad)
        case let e as RPCError where e.code == .permissionDenied || e.code == .unauthenticated:
            status.code = .permissionDenied
            detail(EventStore_Client_AccessDenied())
        default:
            status.code = .unknown
            detail(EventStore_Client_Unknown())
        }
        return status
    }
}
