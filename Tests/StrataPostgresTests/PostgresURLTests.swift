import Foundation
import Strata
import StrataPostgres
import StrataTestSupport
import Testing

/// Passwords off the command line (issue 18): a password file, or `PGPASSWORD`.
@Suite("PostgreSQL URL passwords")
struct PostgresURLTests {
    @Test("passwordFile reads the first line of a file; PGPASSWORD fills a URL without a password; the URL's own password wins")
    func passwords() throws {
        let file = TemporaryDirectory.freshPath("pgpass")
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "from-file\nignored\n".write(toFile: file, atomically: true, encoding: .utf8)
        let fromFile = try PostgresConfiguration(url: "postgres://app@db/events?passwordFile=\(file)", environment: [:])
        #expect(fromFile.password == "from-file")
        #expect(!fromFile.displayURL.contains("from-file"))
        let fromEnvironment = try PostgresConfiguration(url: "postgres://app@db/events", environment: ["PGPASSWORD": "from-env"])
        #expect(fromEnvironment.password == "from-env")
        let inURL = try PostgresConfiguration(url: "postgres://app:in-url@db/events", environment: ["PGPASSWORD": "from-env"])
        #expect(inURL.password == "in-url")
        #expect(try PostgresConfiguration(url: "postgres://app@db/events", environment: [:]).password == nil)
        #expect(throws: StrataError.self) { _ = try PostgresConfiguration(url: "postgres://app@db/events?passwordFile=/nonexistent/x", environment: [:]) }
    }
}
