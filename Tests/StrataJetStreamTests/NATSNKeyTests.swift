import Crypto
import Foundation
import StrataTestSupport
import Testing
@testable import StrataNATS

/// A JWT as NATS's decentralized authentication has it: header `ed25519-nkey`, claims, and the
/// Ed25519 signature of `header.claims` by `issuer`, each part base64url without padding.
func natsJWT(_ claims: [String: Any], issuer: NKey) throws -> String {
    let header = base64URL(Array(#"{"typ":"JWT","alg":"ed25519-nkey"}"#.utf8))
    let body = base64URL(try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
    return "\(header).\(body).\(base64URL(try issuer.sign(Array("\(header).\(body)".utf8))))"
}

/// The reason of an ``NATSError/invalidCredentials(_:)``, `nil` for any other error.
func credentialsReason(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch NATSError.invalidCredentials(let reason) {
        return reason
    } catch {
        return nil
    }
}

@Suite("NATS NKEYs and credentials files")
struct NATSNKeyTests {
    @Test("base32 (RFC 4648 vectors, no padding) and CRC-16/XMODEM (check value)")
    func encodings() {
        let vectors = ["": "", "f": "MY", "fo": "MZXQ", "foo": "MZXW6", "foob": "MZXW6YQ", "fooba": "MZXW6YTB", "foobar": "MZXW6YTBOI"]
        for (plain, encoded) in vectors {
            #expect(Base32.encode(Array(plain.utf8)) == encoded)
            #expect(Base32.decode(encoded) == Array(plain.utf8))
        }
        #expect(Base32.decode("MZXW6YTBOI======") == nil)  // padding is not NKEY base32
        #expect(Base32.decode("mzxw6") == nil)
        #expect(Base32.decode("M") == nil)                 // 5 bits: no byte
        #expect(Base32.decode("MZ") == nil)                // leftover bits not zero
        #expect(NKey.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(base64URL([0xFB, 0xFF, 0xBF]) == "-_-_" && base64URL([0xFF]) == "_w")
    }

    @Test("a seed made from a swift-crypto key pair decodes back: same public key, signatures verify")
    func seedRoundTrip() throws {
        let generated = Curve25519.Signing.PrivateKey()
        let key = try NKey(type: .user, rawSeed: Array(generated.rawRepresentation))
        let seed = key.seed
        #expect(seed.hasPrefix("SU") && seed.count == 58)
        let decoded = try NKey(seed: seed)
        #expect(decoded.type == .user)
        #expect(decoded.publicKey == key.publicKey && decoded.publicKey.hasPrefix("U") && decoded.publicKey.count == 56)
        let publicBytes = try NKey.decodePublicKey(decoded.publicKey)
        #expect(publicBytes == Array(generated.publicKey.rawRepresentation))
        let nonce = Array("a-nonce-from-INFO".utf8)
        let signature = try decoded.sign(nonce)
        #expect(signature.count == 64)
        let verifier = try Curve25519.Signing.PublicKey(rawRepresentation: publicBytes)
        #expect(verifier.isValidSignature(signature, for: nonce))
        #expect(!verifier.isValidSignature(signature, for: Array("another nonce".utf8)))
        #expect(try NKey(seed: "  \(seed)\n").publicKey == key.publicKey)
        // Other types encode with their own letters.
        #expect(try NKey(type: .account).publicKey.hasPrefix("A") && NKey(type: .operator).publicKey.hasPrefix("O"))
        #expect(try NKey(type: .account).seed.hasPrefix("SA") && NKey(type: .operator).seed.hasPrefix("SO"))
    }

    @Test("bad seeds are invalidCredentials naming what is wrong, never the seed")
    func badSeeds() throws {
        let key = try NKey(type: .user)
        let seed = key.seed
        // One character flipped to another base32 character: the checksum catches it.
        var characters = Array(seed)
        characters[20] = characters[20] == "A" ? "B" : "A"
        let flipped = String(characters)
        let reason = try #require(credentialsReason { _ = try NKey(seed: flipped) })
        #expect(reason.contains("checksum"))
        #expect(!reason.contains(flipped) && !reason.contains(seed))
        #expect(credentialsReason { _ = try NKey(seed: seed.lowercased()) }?.contains("base32") == true)
        #expect(credentialsReason { _ = try NKey(seed: String(seed.dropLast(2))) }?.contains("35 bytes") == true)
        #expect(credentialsReason { _ = try NKey(seed: key.publicKey) }?.contains("not 36") == true)
        #expect(credentialsReason { _ = try NKey(seed: try NKey(type: .account).seed) }?.contains("account") == true)
        #expect(try NKey(seed: try NKey(type: .account).seed, expecting: nil).type == .account)
        #expect(credentialsReason { _ = try NKey.decodePublicKey(try NKey(type: .account).publicKey) } != nil)
    }

    @Test("credentials files: JWT and seed from their blocks whatever the dashes; a missing or open block is named")
    func credentialsFiles() throws {
        let directory = try TemporaryDirectory("creds")
        defer { directory.remove() }
        let seed = try NKey(type: .user).seed
        let jwt = NATSCredentialsFile.unsignedJWT
        for dashes in [3, 5, 9] {
            let path = try directory.write("good\(dashes).creds", NATSCredentialsFile.text(jwt: jwt, seed: seed, dashes: dashes))
            #expect(try NATSAuthentication.credentialsFile(path: path) == .credentials(jwt: jwt, seed: seed))
        }
        let crlf = try directory.write("crlf.creds", NATSCredentialsFile.text(jwt: jwt, seed: seed).replacingOccurrences(of: "\n", with: "\r\n"))
        #expect(try NATSAuthentication.credentialsFile(path: crlf) == .credentials(jwt: jwt, seed: seed))

        let noJWT = try directory.write("nojwt.creds", NATSCredentialsFile.text(jwt: nil, seed: seed))
        let noJWTReason = try #require(credentialsReason { _ = try NATSAuthentication.credentialsFile(path: noJWT) })
        #expect(noJWTReason.contains(noJWT) && noJWTReason.contains("no user JWT") && !noJWTReason.contains(seed))

        let noSeed = try directory.write("noseed.creds", NATSCredentialsFile.text(jwt: jwt, seed: nil))
        let noSeedReason = try #require(credentialsReason { _ = try NATSAuthentication.credentialsFile(path: noSeed) })
        #expect(noSeedReason.contains(noSeed) && noSeedReason.contains("no user seed"))

        let open = try directory.write("open.creds", "-----BEGIN NATS USER JWT-----\n\(jwt)\n-----BEGIN USER NKEY SEED-----\n\(seed)\n")
        #expect(credentialsReason { _ = try NATSAuthentication.credentialsFile(path: open) }?.contains("no END line") == true)

        var characters = Array(seed)
        characters[30] = characters[30] == "Q" ? "R" : "Q"
        let badSeed = try directory.write("badseed.creds", NATSCredentialsFile.text(jwt: jwt, seed: String(characters)))
        let badSeedReason = try #require(credentialsReason { _ = try NATSAuthentication.credentialsFile(path: badSeed) })
        #expect(badSeedReason.contains(badSeed) && badSeedReason.contains("checksum") && !badSeedReason.contains(String(characters)))

        let notJWT = try directory.write("notjwt.creds", NATSCredentialsFile.text(jwt: "just-a-token", seed: seed))
        #expect(credentialsReason { _ = try NATSAuthentication.credentialsFile(path: notJWT) }?.contains("does not hold a JWT") == true)

        let missing = directory.appending("missing.creds")
        #expect(credentialsReason { _ = try NATSAuthentication.credentialsFile(path: missing) }?.contains("\(missing) does not exist") == true)

        let nk = try directory.write("user.nk", "\n\(seed)\n")
        #expect(try NATSAuthentication.nkeyFile(path: nk) == .nkey(seed: seed))
        let notSeed = try directory.write("public.nk", try NKey(seed: seed).publicKey)
        #expect(credentialsReason { _ = try NATSAuthentication.nkeyFile(path: notSeed) }?.contains(notSeed) == true)
    }

    @Test("CONNECT: nkey+sig for an NKEY user, jwt+sig (no nkey) for a JWT user; sig is the nonce signed")
    func connectMessage() throws {
        let key = try NKey(type: .user)
        let server = try NATSServerAddress(url: "nats://127.0.0.1:4222")
        let nonce = "Xy-1_abcDEF"
        func fields(_ auth: NATSAuthentication, nonce: String?) throws -> [String: Any] {
            var config = NATSConfiguration(servers: [server])
            config.authentication = auth
            let json = try NATSConnection.connectJSON(config, key: try auth.signingKey(), server: server, nonce: nonce, tls: false)
            return try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
        }
        func signatureVerifies(_ sig: Any?) throws -> Bool {
            var text = try #require(sig as? String).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            #expect(!text.contains("="))
            while text.count % 4 != 0 { text += "=" }
            let signature = try #require(Data(base64Encoded: text))
            let verifier = try Curve25519.Signing.PublicKey(rawRepresentation: try NKey.decodePublicKey(key.publicKey))
            return verifier.isValidSignature(signature, for: Array(nonce.utf8))
        }

        let nkey = try fields(.nkey(seed: key.seed), nonce: nonce)
        #expect(nkey["nkey"] as? String == key.publicKey)
        #expect(nkey["jwt"] == nil && nkey["user"] == nil && nkey["auth_token"] == nil)
        #expect(try signatureVerifies(nkey["sig"]))
        #expect(!"\(nkey)".contains(key.seed))

        let jwt = NATSCredentialsFile.unsignedJWT
        let creds = try fields(.credentials(jwt: jwt, seed: key.seed), nonce: nonce)
        #expect(creds["jwt"] as? String == jwt)
        #expect(creds["nkey"] == nil)
        #expect(try signatureVerifies(creds["sig"]))

        #expect(try fields(.nkey(seed: key.seed), nonce: nil)["sig"] == nil)
        #expect(try fields(.token("t"), nonce: nonce)["sig"] == nil)
    }

    @Test("connect with a seed that does not decode fails at once with invalidCredentials")
    func connectWithBadSeed() async throws {
        var config = try NATSConfiguration(urls: ["nats://127.0.0.1:1"])
        config.authentication = .nkey(seed: "SUNOTASEED")
        let error = await #expect(throws: NATSError.self) { _ = try await NATSConnection.connect(config) }
        guard case .invalidCredentials = error else { Issue.record("got \(String(describing: error))"); return }
    }
}

@Suite("NKEY and JWT users against nats-server", .serialized, .enabled(if: NATSServerProcess.isEnabled, "STRATA_NATS_UNAVAILABLE=1"))
struct NATSNKeyServerTests {
    /// Connects with `auth`, and publishes to `subject` a message its own subscription receives.
    func roundTrip(_ urls: [String], auth: NATSAuthentication, subject: String) async throws {
        let c = try await connect(urls) { $0.authentication = auth }
        let sub = try await c.subscribe(to: subject)
        try await c.flush()
        try await c.publish(subject, payload: Array("signed in".utf8))
        #expect(try await sub.next(timeout: .seconds(30)).map { String(decoding: $0.bytes, as: UTF8.self) } == "signed in")
        try await c.close()
    }

    /// Whether `body` fails with ``NATSError/authorizationFailed(_:)``.
    func refused(_ body: () async throws -> NATSConnection) async -> Bool {
        do {
            let c = try await body()
            try? await c.close()
            return false
        } catch NATSError.authorizationFailed {
            return true
        } catch {
            Issue.record("expected authorizationFailed, got \(error)")
            return false
        }
    }

    @Test("an NKEY user connects with .nkey(seed:) and publishes and subscribes; another seed is refused")
    func nkeyUser() async throws {
        let user = try NKey(type: .user)
        let auth = NATSAuthentication.nkey(seed: user.seed)
        let config = "authorization {\n  users = [ { nkey: \"\(user.publicKey)\" } ]\n  timeout: 20\n}"
        try await NATSTestCluster.run(nodes: 1, extraConfig: config, auth: auth) { cluster in
            try await roundTrip(cluster.urls, auth: auth, subject: "nkey.hello")
            let stranger = try NKey(type: .user)
            #expect(await refused { try await connect(cluster.urls) { $0.authentication = .nkey(seed: stranger.seed) } })
            #expect(await refused { try await connect(cluster.urls) })
        }
    }

    @Test("a JWT user of an operator-signed account connects from a .creds file; a foreign JWT or seed is refused")
    func credentialsUser() async throws {
        let op = try NKey(type: .operator)
        let account = try NKey(type: .account)
        let user = try NKey(type: .user)
        let now = Int(Date().timeIntervalSince1970)
        let operatorJWT = try natsJWT(["jti": "op", "iat": now, "iss": op.publicKey, "sub": op.publicKey, "name": "strata-test",
                                       "nats": ["type": "operator", "version": 2] as [String: Any]], issuer: op)
        let accountJWT = try natsJWT(["jti": "acct", "iat": now, "iss": op.publicKey, "sub": account.publicKey, "name": "app",
                                      "nats": ["type": "account", "version": 2,
                                               "limits": ["subs": -1, "conn": -1, "leaf": -1, "imports": -1, "exports": -1,
                                                          "data": -1, "payload": -1, "wildcards": true] as [String: Any]] as [String: Any]], issuer: op)
        func userJWT(_ subject: NKey, issuer: NKey) throws -> String {
            try natsJWT(["jti": "user", "iat": now, "iss": issuer.publicKey, "sub": subject.publicKey, "name": "app-user",
                         "nats": ["type": "user", "version": 2, "pub": [String: Any](), "sub": [String: Any](),
                                  "subs": -1, "data": -1, "payload": -1] as [String: Any]], issuer: issuer)
        }
        let directory = try TemporaryDirectory("creds")
        defer { directory.remove() }
        let credsPath = try directory.write("app.creds", NATSCredentialsFile.text(jwt: try userJWT(user, issuer: account), seed: user.seed))
        let auth = try NATSAuthentication.credentialsFile(path: credsPath)
        let config = """
        operator: "\(operatorJWT)"
        resolver: MEMORY
        resolver_preload: {
          \(account.publicKey): "\(accountJWT)"
        }
        authorization { timeout: 20 }
        """
        try await NATSTestCluster.run(nodes: 1, extraConfig: config, jetStream: false, auth: auth) { cluster in
            try await roundTrip(cluster.urls, auth: auth, subject: "jwt.hello")
            // The right JWT with another seed: the nonce's signature does not match its subject.
            let other = try NKey(type: .user)
            let stolen = NATSAuthentication.credentials(jwt: try userJWT(user, issuer: account), seed: other.seed)
            #expect(await refused { try await connect(cluster.urls) { $0.authentication = stolen } })
            // A JWT issued by an account the operator did not sign.
            let rogue = NATSAuthentication.credentials(jwt: try userJWT(other, issuer: try NKey(type: .account)), seed: other.seed)
            #expect(await refused { try await connect(cluster.urls) { $0.authentication = rogue } })
        }
    }
}
