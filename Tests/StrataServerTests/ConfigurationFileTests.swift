import Foundation
import Strata
@testable import StrataServer
import StrataTestSupport
import Testing

@Suite("Server configuration file")
struct ConfigurationFileTests {
    static func write(_ json: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("strata-config-\(UUID().uuidString).json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("the file sets the store URL (with its options), document indexes, the log level and the security settings; bad values name the field")
    func settings() async throws {
        let path = try Self.write("""
            {"version": 1, "store": "file:/var/lib/strata?durability=interval&syncMilliseconds=5",
             "documentIndexes": {"users": ["email", "address.city"]}, "logLevel": "debug", "snapshotsDirectory": "/srv/snapshots",
             "allowedOrigins": ["https://app.example"], "allowedHosts": ["strata.internal"],
             "subscriptionsDirectory": "/srv/subscriptions", "advertisedURL": "https://strata-1.internal:2113",
             "limits": {"maxConnections": 500, "idleTimeoutSeconds": 5, "maxOpenCollections": 3, "maxSubscriptionWaitMilliseconds": 5000}}
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var configuration = ServerConfiguration()
        let store = try configuration.apply(file: path)
        #expect(store == "file:/var/lib/strata?durability=interval&syncMilliseconds=5")
        #expect(configuration.documentIndexes == ["users": ["email", "address.city"]] && configuration.logLevel == "debug")
        #expect(configuration.snapshotsDirectory == "/srv/snapshots")
        #expect(configuration.subscriptionsDirectory == "/srv/subscriptions" && configuration.advertisedURL == "https://strata-1.internal:2113")
        #expect(configuration.limits.maxSubscriptionWaitMilliseconds == 5000)
        #expect(configuration.allowedOrigins == ["https://app.example"] && configuration.allowedHosts == ["strata.internal"])
        #expect(configuration.limits.maxConnections == 500 && configuration.limits.idleTimeoutSeconds == 5 && configuration.limits.maxOpenCollections == 3)

        configuration.port = 0
        let server = try await TestServer(configuration: configuration)
        defer { Task { await server.stop() } }
        let users = try await server.server.state.documents.collection("users")
        #expect(users.options.indexes == ["email", "address.city"])

        for bad in [#"{"version": 1, "logLevel": "loud"}"#, #"{"version": 1, "allowedOrigins": ["not an origin"]}"#,
                    #"{"version": 1, "limits": {"idleTimeoutSeconds": 0}}"#,
                    #"{"version": 1, "advertisedURL": "strata-1:2113"}"#, #"{"version": 1, "advertisedURL": "http://h:1/path"}"#,
                    #"{"version": 1, "limits": {"maxSubscriptionWaitMilliseconds": 0}}"#, #"{"version": 1, "tls": {"certificate": "c", "privateKey": "k", "minimumVersion": "1.1"}}"#] {
            let badPath = try Self.write(bad)
            defer { try? FileManager.default.removeItem(atPath: badPath) }
            var other = ServerConfiguration()
            #expect(throws: StrataError.self, "\(bad)") { _ = try other.apply(file: badPath) }
        }
    }

    @Test("/metrics carries the document views' consumer metrics")
    func documentViewMetrics() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        #expect(try await HTTPTestClient.send(.PUT, server.baseURL + "/documents/users/ada", body: #"{"name":"Ada"}"#).status == 200)
        try await Wait.until("the view's consumer metrics", timeout: .seconds(20)) {
            let text = try await HTTPTestClient.send(.GET, server.baseURL + "/metrics").text
            return text.contains(#"strata_consumer_position{consumer="documents-users"} 1"#)
        }
    }
}
