import Foundation
import Strata
import StrataJSON

/// A key ↔ streams index (valkyr's relations): `user:42:posts` → the streams of that user's posts.
///
/// Each key has a stream, `streamPrefix + key`, of `strata.relation.added` and
/// `strata.relation.removed` events whose data is `{"streams": [...]}`. Adding a stream twice
/// is ignored. Because relations are events, they can be written atomically with the events
/// they relate to (``addRequest(key:streams:)`` in the same multi-stream append, or
/// `Repository.save(_:alsoAppending:)`), or maintained by a projector.
public struct Relations: Sendable {
    /// The event type of an addition.
    public static let addedType = "strata.relation.added"
    /// The event type of a removal.
    public static let removedType = "strata.relation.removed"

    /// The store.
    public let store: any EventStore
    /// The prefix of relation streams.
    public let streamPrefix: String

    /// Creates a relation index over `store`.
    public init(store: any EventStore, streamPrefix: String = "relation-") {
        self.store = store
        self.streamPrefix = streamPrefix
    }

    /// The stream holding a key's relations.
    public func stream(for key: String) -> String { streamPrefix + key }

    private struct Change: Codable { var streams: [String] }

    /// The append that relates `streams` to `key`, to send with other appends.
    public func addRequest(key: String, streams: [String]) throws -> AppendRequest {
        AppendRequest(stream: stream(for: key), events: [try EventData(type: Self.addedType, encoding: Change(streams: streams))])
    }

    /// The append that unrelates `streams` from `key`.
    public func removeRequest(key: String, streams: [String]) throws -> AppendRequest {
        AppendRequest(stream: stream(for: key), events: [try EventData(type: Self.removedType, encoding: Change(streams: streams))])
    }

    /// Relates `streams` to `key`.
    public func add(key: String, streams: [String]) async throws {
        _ = try await store.append([try addRequest(key: key, streams: streams)], condition: nil)
    }

    /// Unrelates `streams` from `key`.
    public func remove(key: String, streams: [String]) async throws {
        _ = try await store.append([try removeRequest(key: key, streams: streams)], condition: nil)
    }

    /// The streams related to `key`, in the order they were first added (empty for an unknown key).
    public func streams(for key: String) async throws -> [String] {
        var order: [String] = []
        var present: Set<String> = []
        var origin = ReadOrigin.start
        do {
            while true {
                let page = try await store.readStreamPage(stream(for: key), from: origin, direction: .forward, maxCount: 1024)
                for event in page.events {
                    let change = try StrataJSONDecoder().decode(Change.self, from: event.data)
                    switch event.type {
                    case Self.addedType:
                        for s in change.streams where present.insert(s).inserted { order.append(s) }
                    case Self.removedType:
                        for s in change.streams where present.remove(s) != nil { order.removeAll { $0 == s } }
                    default: continue
                    }
                }
                guard let next = page.next else { break }
                origin = .at(next)
            }
        } catch StrataError.streamNotFound {
            return []
        }
        return order
    }
}
