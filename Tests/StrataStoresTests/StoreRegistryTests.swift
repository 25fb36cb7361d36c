import Foundation
import Strata
import StrataLog
@testable import StrataNATS
@testable import StrataStores
import StrataTestSupport
import Testing

@Suite("Store URLs")
struct StoreRegistryTests {
    let registry = StoreRegistry.standard(environment: [:])

    @Test("every scheme parses to its backend and address; passwords stay out of the display text")
    func parsing() throws {
        let cases: [(String, StoreLocation.Backend, String, String)] = [
            ("file:./data", .file, "./data", "file:./data"),
            ("file:///var/lib/strata", .file, "/var/lib/strata", "file:/var/lib/strata"),
            ("sqlite:events.db", .sqlite, "events.db", "sqlite:events.db"),
            ("sqlite:///tmp/e.db", .sqlite, "/tmp/e.db", "sqlite:/tmp/e.db"),
            ("memory:", .memory, "", "memory:"),
            ("http://127.0.0.1:2113/", .http, "http://127.0.0.1:2113", "http://127.0.0.1:2113"),
            ("https://strata.example:443", .http, "https://strata.example:443", "https://strata.example:443"),
        ]
        for (text, backend, address, display) in cases {
            let location = try registry.parse(text)
            #expect(location.backend == backend && location.address == address && location.displayText == display, "\(text)")
        }
        let postgres = try registry.parse("postgres://app:s3cret@db.example:5432/events?schema=orders")
        #expect(postgres.backend == .postgres && !postgres.displayText.contains("s3cret"))
        let nats = try registry.parse("nats://app:s3cret@n1:4222,n2:4222/orders?replicas=3")
        #expect(nats.backend == .nats && !nats.displayText.contains("s3cret") && nats.displayText.contains("n1:4222,n2:4222/orders"))
        #expect(try registry.parse("postgresql://u@h/d").backend == .postgres)
    }

    @Test("unknown schemes and malformed URLs are typed errors that say what is wrong")
    func refusals() throws {
        #expect(throws: StrataError.unknownStoreURL("gopher://x")) { try registry.parse("gopher://x") }
        for text in ["file:", "sqlite:", "sqlite:dir/", "memory:x", "nats://host:4222", "nats://host/bad name", "nats:///orders",
                     "nats://h/orders?replicas=2", "nats://h/orders?colour=red", "http://host:2113/path", "http://user:pw@host:2113",
                     "postgres://u@h/d?schema=bad-name!"] {
            #expect(throws: StrataError.self, "\(text)") { try registry.parse(text) }
        }
    }

    @Test("open creates local stores, or refuses a missing one under .existing; memory: is fresh every time")
    func opening() async throws {
        let directory = TemporaryDirectory.freshPath("registry")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for text in ["file:\(directory)/log", "sqlite:\(directory)/events.db"] {
            let location = try registry.parse(text)
            await #expect(throws: StoreNotFound.self) { _ = try await registry.open(location, access: .existing) }
            #expect(!registry.exists(location))
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let store = try await registry.open(location, access: .create)
            try await store.append(to: "s", event: EventData(type: "t", json: "{}"))
            try await store.close()
            #expect(registry.exists(location))
            let again = try await registry.open(location, access: .existing)
            #expect(try await again.headPosition() == 1)
            try await again.close()
        }
        let memory = try await registry.open("memory:", access: .existing)
        #expect(try await memory.headPosition() == 0)
        try await memory.close()
    }

    @Test("a backend is one registration: a new scheme opens through the same registry, and a later registration of a prefix wins")
    func registration() async throws {
        var registry = StoreRegistry.standard(environment: [:])
        let backend = StoreLocation.Backend(rawValue: "scratch")
        registry.register(StoreScheme(backend: backend, prefixes: ["scratch:"], summary: "scratch: — a test store",
                                      parse: { StoreLocation(backend: backend, address: String($0.dropFirst(8)), displayText: $0) },
                                      open: { _, _, _ in InMemoryEventStore() }))
        let location = try registry.parse("scratch:one")
        #expect(location.backend == backend && location.address == "one")
        let store = try await registry.open(location, access: .existing)
        #expect(try await store.headPosition() == 0)
        try await store.close()
        registry.register(StoreScheme(backend: .memory, prefixes: ["memory:"], summary: "replaced",
                                      parse: { _ in throw StrataError.invalidArgument("replaced") }, open: { _, _, _ in InMemoryEventStore() }))
        #expect(throws: StrataError.invalidArgument("replaced")) { try registry.parse("memory:") }
        #expect(registry.schemes.filter { $0.prefixes.contains("memory:") }.count == 1)
    }
}

@Suite("file: store options")
struct FileStoreOptionTests {
    @Test("file: URL options set the log engine's configuration; unknown options and bad values are refused")
    func options() throws {
        let registry = StoreRegistry.standard(environment: [:])
        let location = try registry.parse("file:/tmp/x?durability=interval&syncMilliseconds=20&segmentSize=8M&compress=true&retentionMaxAge=3600&retentionMaxBytes=1G&rollDaily=true&maxEventSize=512K")
        #expect(location.address == "/tmp/x" && location.path == "/tmp/x")
        let configuration = try StoreScheme.logConfiguration(location.options)
        #expect(configuration.durability == .interval(milliseconds: 20))
        #expect(configuration.segmentSize == 8 << 20 && configuration.compressSealedSegments && configuration.rollDaily)
        #expect(configuration.retention?.maxAge == 3600 && configuration.retention?.maxBytes == 1 << 30)
        #expect(configuration.limits.maxEventSize == 512 << 10)
        #expect(try StoreScheme.logConfiguration([:]) == LogConfiguration())
        for bad in ["file:/x?durability=sometimes", "file:/x?segmentSize=big", "file:/x?colour=red", "file:/x?compress=yes",
                    "file:/x?syncMilliseconds=5", "file:/x?retentionMaxAge=-1", "file:/x?segmentSize=0"] {
            #expect(throws: StrataError.self, "\(bad)") { try registry.parse(bad) }
        }
    }

    @Test("a file: store opened with segmentSize=4K seals small segments")
    func smallSegments() async throws {
        let directory = TemporaryDirectory.freshPath("options")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await StoreRegistry.standard(environment: [:]).open("file:\(directory)?segmentSize=4K&durability=none", access: .create)
        for n in 0..<200 { try await store.append(to: "s", event: EventData(type: "t", json: #"{"n":\#(n),"pad":"\#(String(repeating: "x", count: 100))"}"#)) }
        try await store.close()
        let segments = try FileManager.default.contentsOfDirectory(atPath: directory + "/segments").filter { $0.hasSuffix(".seg") }
        #expect(segments.count > 3, "\(segments)")
    }
}

@Suite("nats: store credentials and TLS")
struct NATSStoreOptionTests {
    @Test("tls=true asks TLS of every server; credentials come from the URL, else from STRATA_NATS_TOKEN or STRATA_NATS_USER/PASSWORD")
    func credentials() throws {
        let secure = try StoreScheme.natsConfiguration("nats://n1:4222,n2:4222/orders?tls=true")
        #expect(secure.nats.servers.allSatisfy(\.requiresTLS) && secure.nats.tls != nil)
        let token = try StoreScheme.natsConfiguration("nats://n1/orders", environment: ["STRATA_NATS_TOKEN": "t0ken"])
        #expect(token.nats.authentication == .token("t0ken"))
        let user = try StoreScheme.natsConfiguration("nats://n1/orders", environment: ["STRATA_NATS_USER": "app", "STRATA_NATS_PASSWORD": "pw"])
        #expect(user.nats.authentication == .userPassword(user: "app", password: "pw"))
        let inURL = try StoreScheme.natsConfiguration("nats://me:secret@n1/orders", environment: ["STRATA_NATS_TOKEN": "t0ken"])
        #expect(inURL.nats.authentication == .userPassword(user: "me", password: "secret"))
        #expect(throws: StrataError.self) { _ = try StoreScheme.natsConfiguration("nats://n1/orders?caFile=/nonexistent/ca.pem") }
        #expect(throws: StrataError.self) { _ = try StoreScheme.natsConfiguration("nats://n1/orders?tls=maybe") }
    }

    @Test("STRATA_NATS_CREDS, then STRATA_NATS_NKEY, then the token, then user/password; the URL's credentials win; a bad file names the variable")
    func fileCredentials() throws {
        let directory = try TemporaryDirectory("nats-creds")
        defer { directory.remove() }
        let seed = try NKey(type: .user).seed
        let jwt = NATSCredentialsFile.unsignedJWT
        let creds = try directory.write("app.creds", NATSCredentialsFile.text(jwt: jwt, seed: seed))
        let nk = try directory.write("app.nk", seed + "\n")
        var environment = ["STRATA_NATS_CREDS": creds, "STRATA_NATS_NKEY": nk, "STRATA_NATS_TOKEN": "t0ken", "STRATA_NATS_USER": "app"]
        #expect(try StoreScheme.natsConfiguration("nats://n1/orders", environment: environment).nats.authentication == .credentials(jwt: jwt, seed: seed))
        #expect(try StoreScheme.natsConfiguration("nats://me:secret@n1/orders", environment: environment).nats.authentication
                == .userPassword(user: "me", password: "secret"))
        environment["STRATA_NATS_CREDS"] = ""
        #expect(try StoreScheme.natsConfiguration("nats://n1/orders", environment: environment).nats.authentication == .nkey(seed: seed))
        environment["STRATA_NATS_NKEY"] = nil
        #expect(try StoreScheme.natsConfiguration("nats://n1/orders", environment: environment).nats.authentication == .token("t0ken"))

        let missing = directory.appending("missing.creds")
        let error = #expect(throws: StrataError.self) {
            _ = try StoreScheme.natsConfiguration("nats://n1/orders", environment: ["STRATA_NATS_CREDS": missing])
        }
        let text = "\(try #require(error))"
        #expect(text.contains("STRATA_NATS_CREDS") && text.contains(missing))
        let publicKey = try directory.write("public.nk", try NKey(seed: seed).publicKey)
        let nkeyError = #expect(throws: StrataError.self) {
            _ = try StoreScheme.natsConfiguration("nats://n1/orders", environment: ["STRATA_NATS_NKEY": publicKey])
        }
        let nkeyText = "\(try #require(nkeyError))"
        #expect(nkeyText.contains("STRATA_NATS_NKEY") && nkeyText.contains(publicKey) && !nkeyText.contains(seed))
    }
}
