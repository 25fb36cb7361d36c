import Foundation

extension NATSAuthentication {
    /// Reads an `nsc`-style credentials file (`.creds`): the user JWT between
    /// `-----BEGIN NATS USER JWT-----` and `------END NATS USER JWT------`, the user seed between
    /// `-----BEGIN USER NKEY SEED-----` and `------END USER NKEY SEED------`. As in the official
    /// clients, a marker line is recognised by its dashes (three or more on each side) and its
    /// `BEGIN`/`END` word; the label says which block it is (one ending in `JWT`, one ending in
    /// `SEED`); lines outside the blocks (nsc's warnings) are ignored.
    ///
    /// ```swift
    /// config.authentication = try .credentialsFile(path: "/etc/strata/app.creds")
    /// ```
    /// - Returns: ``credentials(jwt:seed:)``.
    /// - Throws: ``NATSError/invalidCredentials(_:)`` naming the file when it cannot be read,
    ///   lacks a block, has a block without its END line, or holds a seed that does not decode.
    public static func credentialsFile(path: String) throws -> NATSAuthentication {
        let text = try readCredentials(path, what: "credentials file")
        let (jwt, seed) = try parseCredentials(text, source: "the credentials file \(path)")
        return .credentials(jwt: jwt, seed: seed)
    }

    /// Reads a file holding an NKEY user seed (`SU…`, as `nsc` writes `.nk` files); white space
    /// around it is ignored.
    /// - Returns: ``nkey(seed:)``.
    /// - Throws: ``NATSError/invalidCredentials(_:)`` naming the file when it cannot be read or
    ///   does not hold a user seed.
    public static func nkeyFile(path: String) throws -> NATSAuthentication {
        let seed = try readCredentials(path, what: "NKEY seed file").trimmingCharacters(in: .whitespacesAndNewlines)
        try validateSeed(seed, source: "the NKEY seed file \(path)")
        return .nkey(seed: seed)
    }

    /// The key that signs the server's nonce: the seed of ``nkey(seed:)`` and
    /// ``credentials(jwt:seed:)``, decoded; `nil` for the other forms.
    /// - Throws: ``NATSError/invalidCredentials(_:)`` for a seed that does not decode.
    func signingKey() throws -> NKey? {
        switch self {
        case .nkey(let seed), .credentials(_, let seed): try NKey(seed: seed)
        case .none, .userPassword, .token: nil
        }
    }

    /// The JWT and the seed of a credentials file's text; `source` names it in errors.
    static func parseCredentials(_ text: String, source: String) throws -> (jwt: String, seed: String) {
        enum Block { case jwt, seed, other }
        var open: (block: Block, label: String)?
        var found: [Block: [String]] = [:]
        var lines: [String] = []
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if let mark = marker(line) {
                let (begin, label) = (mark.isBegin, mark.label)
                if let current = open {
                    guard !begin else {
                        throw NATSError.invalidCredentials("\(source): the \(current.label) block has no END line before the next BEGIN")
                    }
                    if found[current.block] == nil { found[current.block] = lines }
                    open = nil
                } else if begin {
                    let block: Block = label.hasSuffix("JWT") ? .jwt : label.hasSuffix("SEED") ? .seed : .other
                    open = (block, label)
                    lines = []
                }
            } else if open != nil, !line.isEmpty {
                lines.append(line)
            }
        }
        if let current = open {
            throw NATSError.invalidCredentials("\(source): the \(current.label) block has no END line")
        }
        guard let jwtLines = found[.jwt] else {
            throw NATSError.invalidCredentials("\(source) has no user JWT (no -----BEGIN NATS USER JWT----- block)")
        }
        guard let seedLines = found[.seed] else {
            throw NATSError.invalidCredentials("\(source) has no user seed (no -----BEGIN USER NKEY SEED----- block)")
        }
        let jwt = jwtLines.joined()
        let parts = jwt.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else {
            throw NATSError.invalidCredentials("\(source): the user JWT block does not hold a JWT (three base64url parts joined by dots)")
        }
        let seed = seedLines.joined()
        try validateSeed(seed, source: source)
        return (jwt, seed)
    }

    /// `(isBegin, label)` of a marker line (`-----BEGIN NATS USER JWT-----`), `nil` for another.
    private static func marker(_ line: String) -> (isBegin: Bool, label: String)? {
        guard line.hasPrefix("---"), line.hasSuffix("---") else { return nil }
        let inner = line.trimmingCharacters(in: CharacterSet(charactersIn: "-")).trimmingCharacters(in: .whitespaces)
        if inner.hasPrefix("BEGIN ") { return (true, String(inner.dropFirst(6))) }
        if inner.hasPrefix("END ") { return (false, String(inner.dropFirst(4))) }
        return nil
    }

    /// Throws the seed's error, with `source` in front, when `seed` is not a user seed.
    private static func validateSeed(_ seed: String, source: String) throws {
        do {
            _ = try NKey(seed: seed)
        } catch NATSError.invalidCredentials(let reason) {
            throw NATSError.invalidCredentials("\(source): \(reason)")
        }
    }

    private static func readCredentials(_ path: String, what: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw NATSError.invalidCredentials("the \(what) \(path) does not exist")
        }
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw NATSError.invalidCredentials("cannot read the \(what) \(path) (unreadable, or not UTF-8 text)")
        }
    }
}
