import Foundation
import StrataTestSupport
import Testing

@Suite("strata key")
struct KeyCommandTests {
    @Test("key new prints a fresh key and a configuration entry holding only its hash; key hash reads a key from stdin and prints the same hash")
    func newAndHash() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let made = try await CLIProcess.run(["key", "new", "--name", "bot", "--scope", "write", "--scope", "read"], in: dir.url)
        #expect(made.status == 0, "\(made)")
        #expect(made.lines.count == 2)
        let key = try #require(made.lines.first?.split(separator: " ").last.map(String.init))
        #expect(made.lines.first?.hasPrefix("key: ") == true)
        #expect(key.count == 43 && key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }, "\(key)")
        let entryText = try #require(made.lines.last?.dropFirst("entry: ".count))
        let entry = try jsonObject(String(entryText))
        #expect(entry["name"] as? String == "bot")
        #expect(entry["scopes"] as? [String] == ["read", "write"])
        #expect(entry["key"] == nil, "the entry must not hold the key")
        let keyHash = try #require(entry["keyHash"] as? String)
        #expect(keyHash.hasPrefix("sha256:") && keyHash.count == 71)

        let hashed = try await CLIProcess.run(["key", "hash"], in: dir.url, stdin: key + "\n")
        #expect(hashed.status == 0, "\(hashed)")
        #expect(hashed.lines == [keyHash])
        let again = try await CLIProcess.run(["key", "new"], in: dir.url)
        #expect(again.lines.first != made.lines.first, "two new keys are the same")

        let badScope = try await CLIProcess.run(["key", "new", "--scope", "root"], in: dir.url)
        #expect(badScope.status != 0 && badScope.stderr.contains("read, write or admin"))
        let short = try await CLIProcess.run(["key", "hash"], in: dir.url, stdin: "short\n")
        #expect(short.status != 0)
    }
}
