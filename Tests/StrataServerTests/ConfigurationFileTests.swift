import Foundation
import Strata
@testable import StrataServer
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
             "documentIndexes": {"users": ["email", "address.city"]}, "logLevel": "debug",
             "allowedOrigins": ["https://app.example"], "allowedHosts": ["strata.internal"],
             "limits": {"maxConnections": 500, "idleTimeoutSeconds": 5, "maxOpenCollections": 3}}
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var configuration = ServerConfiguration()
        let store = try configuration.apply(file: path)
        #expect(store == "file:/var/lib/strata?durability=interval&syncMilliseconds=5")
        #expect(configuration.documentIndexes == ["users": ["email", "address.city"]] && configuration.logLevel == "debug")
        #expect(configuration.allowedOrigins == ["https://app.example"] && configuration.allowedHosts == ["strata.internal"])
        #expect(configuration.limits.maxConnections == 500 && configuration.limits.idleTimeoutSeconds == 5 && configuration.limits.maxOpenCollections == 3)

        configuration.port = 0
        let server = try await TestServer(configuration: configuration)
        defer { Task { await server.stop() } }
        let users = try await server.server.state.documents.collection("users")
        #expect(users.options.indexes == ["email", "address.city"])

        for bad in [#"{"version": 1, "logLevel": "loud"}"#, #"{"version": 1, "allowedOrigins": ["not an origin"]}"#,
                    #"{"version": 1, "limits": {"idleTimeoutSeconds": 0}}"#, #"{"version": 1, "tls": {"certificate": "c", "privateKey": "k", "minimumVersion": "1.1"}}"#] {
            let badPath = try Self.write(bad)
            defer { try? FileManager.default.removeItem(atPath: badPath) }
            var other = ServerConfiguration()
            #expect(throws: StrataError.self, "\(bad)") { _ = try other.apply(file: badPath) }
        }
    }
}
