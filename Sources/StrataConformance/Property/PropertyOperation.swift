import Foundation
import Strata

/// One random operation of a property-test run, applied to the backend and to the model.
enum PropertyOperation: CustomStringConvertible {
    case append([AppendRequest], AppendCondition?)
    case readStream(String, ReadOrigin, ReadDirection, limit: Int?)
    case readAll(ReadOrigin, ReadDirection, EventFilter, limit: Int?)
    case streamInfo(String)
    case listStreams(prefix: String)
    case delete(String, ExpectedRevision, DeleteMode)
    case setMetadata(String, StreamMetadata)
    case stats

    var description: String {
        switch self {
        case .append(let requests, let condition):
            let body = requests.map { r in
                "\(r.stream.debugDescription) expecting \(r.expectedRevision): [" + r.events.map(Self.describe).joined(separator: ", ") + "]"
            }.joined(separator: "; ")
            return "append \(body)" + (condition.map { " if no \($0.query) after \($0.after.map(String.init) ?? "nil")" } ?? "")
        case .readStream(let stream, let origin, let direction, let limit):
            return "read \(stream.debugDescription) from \(origin) \(direction) limit \(limit.map(String.init) ?? "nil")"
        case .readAll(let origin, let direction, let filter, let limit):
            return "read $all from \(origin) \(direction) prefixes \(filter.streamPrefixes) types \(filter.eventTypes.sorted()) limit \(limit.map(String.init) ?? "nil")"
        case .streamInfo(let stream): return "streamInfo \(stream.debugDescription)"
        case .listStreams(let prefix): return "listStreams prefix \(prefix.debugDescription)"
        case .delete(let stream, let expected, let mode): return "delete \(stream.debugDescription) \(mode) expecting \(expected)"
        case .setMetadata(let stream, let metadata): return "setStreamMetadata \(stream.debugDescription) \(metadata)"
        case .stats: return "stats"
        }
    }

    static func describe(_ event: EventData) -> String {
        let metadata = event.metadata.map { " metadata " + (String(data: $0, encoding: .utf8) ?? "\($0)") } ?? ""
        return "\(event.id.uuidString.prefix(8)) \(event.type.debugDescription) \(event.contentType) \(event.data.count)B\(metadata)"
    }

    /// Runs the operation; every outcome, error included, becomes a comparable value.
    func apply(to store: any EventStore) async -> PropertyOutcome {
        do {
            switch self {
            case .append(let requests, let condition):
                return .appended(try await store.append(requests, condition: condition))
            case .readStream(let stream, let origin, let direction, let limit):
                return .events(try await store.readStream(stream, from: origin, direction: direction, limit: limit).collect().map(EventView.init))
            case .readAll(let origin, let direction, let filter, let limit):
                return .events(try await store.readAll(from: origin, direction: direction, filter: filter, limit: limit).collect().map(EventView.init))
            case .streamInfo(let stream):
                return .info(try await store.streamInfo(stream))
            case .listStreams(let prefix):
                return .names(try await store.listStreams(prefix: prefix).collect())
            case .delete(let stream, let expected, let mode):
                try await store.deleteStream(stream, expectedRevision: expected, mode: mode)
                return .done
            case .setMetadata(let stream, let metadata):
                try await store.setStreamMetadata(stream, metadata)
                return .done
            case .stats:
                let stats = try await store.stats()
                return .stats(head: stats.headPosition, first: stats.firstPosition, streams: stats.streamCount,
                              headPosition: try await store.headPosition())
            }
        } catch let error as StrataError {
            return .failed(error)
        } catch {
            return .failedOther("\(type(of: error)): \(error)")
        }
    }
}

/// A recorded event without its recorded time, which differs between stores.
struct EventView: Hashable, CustomStringConvertible {
    let id: UUID
    let stream: String
    let revision: UInt64
    let position: UInt64
    let type: String
    let contentType: ContentType
    let data: Data
    let metadata: Data?

    init(_ e: RecordedEvent) {
        id = e.id
        stream = e.stream
        revision = e.revision
        position = e.position
        type = e.type
        contentType = e.contentType
        data = e.data
        metadata = e.metadata
    }

    var description: String {
        let metadata = metadata.map { " metadata " + (String(data: $0, encoding: .utf8) ?? "\($0)") } ?? ""
        return "p\(position) \(stream.debugDescription)#\(revision) \(id.uuidString.prefix(8)) \(type.debugDescription) \(contentType) \(data.count)B\(metadata)"
    }
}

/// What an operation gave.
enum PropertyOutcome: Hashable, CustomStringConvertible {
    case appended([AppendResult])
    case events([EventView])
    case info(StreamInfo)
    case names([String])
    case stats(head: UInt64, first: UInt64, streams: Int, headPosition: UInt64)
    case done
    case failed(StrataError)
    case failedOther(String)

    var description: String {
        switch self {
        case .appended(let results):
            return "appended " + results.map { "\($0.stream.debugDescription) r\($0.firstRevision)-\($0.lastRevision) p\($0.firstPosition)-\($0.lastPosition)" }
                .joined(separator: ", ")
        case .events(let events):
            return "\(events.count) events" + (events.isEmpty ? "" : ":\n      " + events.map(\.description).joined(separator: "\n      "))
        case .info(let info): return "\(info)"
        case .names(let names): return "\(names.count) names \(names)"
        case .stats(let head, let first, let streams, let headPosition):
            return "stats head \(head) first \(first) streams \(streams); headPosition \(headPosition)"
        case .done: return "done"
        case .failed(let error): return "threw StrataError.\(error.kind): \(error)"
        case .failedOther(let error): return "threw \(error)"
        }
    }

    /// The two outcomes side by side, pointing at the first differing event of long reads.
    static func difference(model: PropertyOutcome, backend: PropertyOutcome) -> String {
        if case .events(let m) = model, case .events(let b) = backend {
            let index = zip(m, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(m.count, b.count)
            func at(_ events: [EventView]) -> String { index < events.count ? "\(events[index])" : "(none)" }
            return "model \(m.count) events, backend \(b.count) events; first difference at index \(index):\n" +
                "    model:   \(at(m))\n    backend: \(at(b))"
        }
        return "model:   \(model)\n    backend: \(backend)"
    }
}
