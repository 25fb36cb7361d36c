import Foundation
import PostgresNIO
import Strata
import StrataTestSupport
import Testing
@testable import StrataPostgres

/// A bad configuration fails at open, with an error that names the cause (issue 4, "Done when").
@Suite("opening a PostgreSQL store", .enabled(if: PostgresTest.isEnabled, "set STRATA_TEST_POSTGRES_URL (scripts/test.sh does)"))
struct OpenFailureTests {
    /// The io error's operation and reason, or a failure.
    static func ioError(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> (operation: String, reason: String)? {
        do {
            try await body()
            Issue.record("the store opened", sourceLocation: sourceLocation)
        } catch StrataError.io(_, let operation, let reason) {
            return (operation, reason)
        } catch {
            Issue.record("expected StrataError.io, got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    @Test("a refused connection fails at open with an io error naming the connect step and the refusal, not a timeout")
    func unreachableServer() async throws {
        // A port nothing listens on: bind one, then close it.
        let port = try LoopbackPort.free()
        // A connect timeout far longer than any scheduling delay: the failure must come from the
        // refusal itself (the kernel answers a SYN to a closed port with a reset at once), never
        // from a deadline or a retry, however loaded the machine is.
        var configuration = try PostgresConfiguration(url: "postgres://postgres@127.0.0.1:\(port)/postgres?sslmode=disable")
        configuration.connectTimeout = .seconds(300)
        let started = ContinuousClock.now
        let failure = await Self.ioError { _ = try await PostgresEventStore(configuration: configuration) }
        #expect(failure?.operation == "connect")
        #expect(failure?.reason.contains("refused") == true && failure?.reason.contains("is the server running") == true,
                "\(String(describing: failure))")
        // Far from the expected milliseconds, and far below the 300 s timeout a retry loop or a
        // wait for the deadline would run into.
        #expect(ContinuousClock.now - started < .seconds(120))
    }

    @Test("a server that never answers fails at open once the connect timeout passes")
    func silentServer() async throws {
        // A listening socket that accepts nothing: the TCP handshake completes, no startup reply comes.
        let (fd, port) = try LoopbackPort.silentListener()
        defer { close(fd) }
        var configuration = try PostgresConfiguration(url: "postgres://postgres@127.0.0.1:\(port)/postgres?sslmode=disable")
        configuration.connectTimeout = .milliseconds(500)
        let failure = await Self.ioError { _ = try await PostgresEventStore(configuration: configuration) }
        #expect(failure?.operation == "connect")
        // Either the store's deadline or, on a loaded machine, NIO's connect timeout ends it first.
        #expect(failure.map { $0.reason.contains("no answer") || $0.reason.lowercased().contains("timeout") } == true,
                "\(String(describing: failure))")
    }

    @Test("a wrong password fails at open with an io error naming authentication; the right one opens",
          .enabled(if: ProcessInfo.processInfo.environment["STRATA_TEST_POSTGRES_PASSWORD_URL"] != nil))
    func wrongPassword() async throws {
        let good = try #require(ProcessInfo.processInfo.environment["STRATA_TEST_POSTGRES_PASSWORD_URL"])
        let bad = good.replacingOccurrences(of: ":strata-password-test@", with: ":not-the-password@")
        #expect(bad != good)
        let tracker = SchemaTracker()
        let schema = tracker.newSchema("auth")
        let failure = await Self.ioError { _ = try await PostgresEventStore(url: bad + "?sslmode=disable&schema=\(schema)") }
        #expect(failure?.operation == "authenticate")
        #expect(failure?.reason.contains("password authentication failed") == true, "\(String(describing: failure))")
        #expect(failure.map { !"\($0)".contains("not-the-password") } ?? true, "the message must not show the password")
        let store = try await PostgresEventStore(url: good + "?sslmode=disable&schema=\(schema)")
        try await store.append(to: "s", events: PostgresTest.events(1))
        try await store.close()
        await tracker.dropAll()
    }

    @Test("an unknown user or database fails at open with the server's reason")
    func unknownUserOrDatabase() async throws {
        let url = try #require(PostgresTest.url)
        let user = await Self.ioError {
            _ = try await PostgresEventStore(url: url.replacingOccurrences(of: "postgres://postgres@", with: "postgres://nobody_here@") + "?sslmode=disable")
        }
        #expect(user?.operation == "authenticate")
        #expect(user?.reason.contains("nobody_here") == true, "\(String(describing: user))")
        let database = await Self.ioError {
            _ = try await PostgresEventStore(url: String(url.dropLast("/postgres".count)) + "/no_such_database?sslmode=disable")
        }
        #expect(database?.operation == "open the database")
    }

    @Test("a schema written by a newer Strata is refused with unsupportedFormat and left unchanged")
    func newerSchema() async throws {
        let tracker = SchemaTracker()
        let schema = tracker.newSchema("newer")
        let store = try await PostgresTest.openStore(schema: schema)
        try await store.append(to: "s", events: PostgresTest.events(2))
        try await store.close()
        let newer = PostgresEventStore.schemaVersion + 1
        try await PostgresTest.execute("INSERT INTO \"\(schema)\".strata_migrations (version, description) VALUES (\(newer), 'from a later Strata')")
        do {
            _ = try await PostgresTest.openStore(schema: schema)
            Issue.record("the store opened a schema of version \(newer)")
        } catch StrataError.unsupportedFormat(let path, let found, let supported) {
            #expect(path.contains(schema))
            #expect(found == "schema version \(newer)")
            #expect(supported.contains("version \(PostgresEventStore.schemaVersion)"))
        }
        let versions = try await PostgresTest.withConnection { connection in
            try await connection.rows(PostgresQuery(unsafeSQL: "SELECT version FROM \"\(schema)\".strata_migrations ORDER BY version"), logger: connection.logger)
                .map { try $0.decode(Int32.self) }
        }
        #expect(versions == (1...newer).map(Int32.init))
        await tracker.dropAll()
    }

    @Test("a schema holding other tables is refused; an existing empty schema is adopted")
    func foreignSchema() async throws {
        let tracker = SchemaTracker()
        let foreign = tracker.newSchema("foreign"), empty = tracker.newSchema("empty")
        try await PostgresTest.execute("CREATE SCHEMA \"\(foreign)\"")
        try await PostgresTest.execute("CREATE TABLE \"\(foreign)\".orders (id int)")
        await #expect(throws: StrataError.self) { _ = try await PostgresTest.openStore(schema: foreign) }
        try await PostgresTest.execute("CREATE SCHEMA \"\(empty)\"")
        let store = try await PostgresTest.openStore(schema: empty)
        try await store.close()
        await tracker.dropAll()
    }

    @Test("a bad URL option or schema name is refused before connecting")
    func badOptions() async throws {
        #expect(throws: StrataError.invalidArgument("schema name \"Bad-Name\" must be lower-case letters, digits and _, starting with a letter or _")) {
            _ = try PostgresConfiguration(url: "postgres://u@h/db?schema=Bad-Name")
        }
        #expect(throws: StrataError.self) { _ = try PostgresConfiguration(url: "postgres://u@h/db?sslmode=maybe") }
        #expect(throws: StrataError.self) { _ = try PostgresConfiguration(url: "postgres://u@h/db?colour=blue") }
        #expect(throws: StrataError.unknownStoreURL("mysql://u@h/db")) { _ = try PostgresConfiguration(url: "mysql://u@h/db") }
        let parsed = try PostgresConfiguration(url: "postgresql://app%40x:p%3Ass@db.example:6543/events?schema=billing&pool=12")
        #expect(parsed.username == "app@x" && parsed.password == "p:ss" && parsed.host == "db.example" && parsed.port == 6543)
        #expect(parsed.database == "events" && parsed.schema == "billing" && parsed.maximumConnections == 12)
        #expect(parsed.displayURL == "postgres://app@x@db.example:6543/events?schema=billing")
    }

    @Test("two stores in two schemas of one database live side by side: own positions, own subscriptions")
    func schemasSideBySide() async throws {
        let tracker = SchemaTracker()
        let one = try await PostgresTest.openStore(schema: tracker.newSchema("side"))
        let two = try await PostgresTest.openStore(schema: tracker.newSchema("side"))
        let first = try await one.append(to: "s", events: PostgresTest.events(3))
        let second = try await two.append(to: "s", events: PostgresTest.events(2))
        #expect(first.lastPosition == 3 && second.lastPosition == 2)
        #expect(try await one.readAll().collect().count == 3)
        #expect(try await two.streamInfo("s").lastRevision == 2)
        try await one.close()
        try await two.close()
        await tracker.dropAll()
    }
}
