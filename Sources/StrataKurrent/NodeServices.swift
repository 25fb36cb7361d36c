import Foundation
import GRPCCore
import StrataServer

// What a client asks a node before its first call: the methods it serves
// (`ServerFeatures.GetSupportedMethods`) and the cluster's members (`Gossip.Read`), answered as
// one node that is the leader.

/// `ServerFeatures`: the methods served.
struct ServerFeaturesService: EventStore_Client_ServerFeatures_ServerFeatures.ServiceProtocol {
    let state: ServerState

    /// The version reported to clients: the protocol level Strata follows (docs/KURRENTDB.md).
    static let protocolVersion = "24.10.0"

    /// The services and methods served, lowercase as KurrentDB reports them, with the features
    /// clients test for (persistent subscriptions to `$all`).
    static let supported: [(service: String, methods: [String], features: [String])] = [
        ("event_store.client.streams.streams", ["read", "append", "batchappend", "delete", "tombstone"], []),
        ("event_store.client.persistent_subscriptions.persistentsubscriptions",
         ["create", "update", "delete", "read", "getinfo", "replayparked", "list"], ["stream", "all"]),
        ("event_store.client.server_features.serverfeatures", ["getsupportedmethods"], []),
        ("event_store.client.gossip.gossip", ["read"], []),
    ]

    func getSupportedMethods(request: ServerRequest<EventStore_Client_Empty>, context: ServerContext) async throws
        -> ServerResponse<EventStore_Client_ServerFeatures_SupportedMethods> {
        _ = try KurrentCall.admit(request.metadata, state: state, scope: .read)
        var methods = EventStore_Client_ServerFeatures_SupportedMethods()
        methods.eventStoreServerVersion = Self.protocolVersion
        for (service, names, features) in Self.supported {
            for name in names {
                var method = EventStore_Client_ServerFeatures_SupportedMethod()
                method.serviceName = service
                method.methodName = name
                method.features = features
                methods.methods.append(method)
            }
        }
        return ServerResponse(message: methods)
    }
}

/// `Gossip`: one member, alive and the leader, at the address clients reach the gRPC surface at.
struct GossipService: EventStore_Client_Gossip_Gossip.ServiceProtocol {
    let state: ServerState
    /// The address and port clients reach this node's gRPC surface at.
    let endpoint: @Sendable () -> (host: String, port: Int)
    /// This node's id, fixed for the server's life.
    let instance = UUID()

    func read(request: ServerRequest<EventStore_Client_Empty>, context: ServerContext) async throws -> ServerResponse<EventStore_Client_Gossip_ClusterInfo> {
        _ = try KurrentCall.admit(request.metadata, state: state, scope: .read)
        var member = EventStore_Client_Gossip_MemberInfo()
        member.instanceID = KurrentMapping.uuid(instance, structured: false)
        member.timeStamp = Int64(Date().timeIntervalSince1970 * 10_000_000)
        member.state = .leader
        member.isAlive = true
        let (host, port) = endpoint()
        member.httpEndPoint.address = host
        member.httpEndPoint.port = UInt32(clamping: port)
        var info = EventStore_Client_Gossip_ClusterInfo()
        info.members = [member]
        return ServerResponse(message: info)
    }
}
