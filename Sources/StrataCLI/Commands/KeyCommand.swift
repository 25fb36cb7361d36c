import ArgumentParser
import Strata
import StrataCommandLine
import StrataServer
import StrataJSON

/// `strata key new` and `strata key hash`: API keys for `strata serve` whose configuration
/// holds only a hash (docs/SERVER.md, "Security model").
struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Make API keys for strata serve, and the hashes a configuration file can hold instead of them.",
        subcommands: [New.self, Hash.self]
    )

    /// `strata key new [--name N] [--scope S…]`.
    struct New: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "new",
            abstract: "Print a new random key (give it to the client) and a configuration entry holding only its hash.",
            discussion: """
            The key is 32 random bytes from the system's secure generator, in base64url. The entry's
            "keyHash" is "sha256:" and the hex SHA-256 of the key: put the entry in the "apiKeys" of the
            server's configuration file; the server never needs the key itself.
            """
        )

        @Option(name: .long, help: "The key's name in logs and metrics.")
        var name = "client"
        @Option(name: .long, help: "A scope: read, write or admin (repeatable; default read).")
        var scope: [String] = []

        func run() async throws {
            let scopes = try (scope.isEmpty ? ["read"] : scope).map { text -> APIKey.Scope in
                guard let scope = APIKey.Scope(rawValue: text) else {
                    throw ValidationError("--scope must be read, write or admin, not \"\(text)\"")
                }
                return scope
            }
            let secret = APIKey.generateSecret()
            let entry = APIKey(name: name, keyHash: APIKey.hash(secret), scopes: Set(scopes))
            let scopeList = Set(scopes).map(\.rawValue).sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            StandardOutput.stdout.writeLine("key: \(secret)")
            var quotedName = ""
            quotedName += JSONWriter.quoted(name)
            StandardOutput.stdout.writeLine(#"entry: {"name": \#(quotedName), "keyHash": "\#(entry.keyHash!)", "scopes": [\#(scopeList)]}"#)
            StandardOutput.stdout.flush()
        }
    }

    /// `strata key hash` (the key on standard input).
    struct Hash: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hash",
            abstract: "Print the keyHash of a key read from standard input (one line; kept out of the shell's history).",
            discussion: "Example: strata key hash < key.txt   prints sha256:<64 hex digits>."
        )

        func run() async throws {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw ValidationError("give the key on standard input, e.g. strata key hash < key.txt")
            }
            guard line.utf8.count >= 16 else { throw ValidationError("an API key has at least 16 characters") }
            StandardOutput.stdout.writeLine(APIKey.hash(line))
            StandardOutput.stdout.flush()
        }
    }
}
