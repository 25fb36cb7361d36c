import Foundation

/// A self-signed certificate for `localhost` and `127.0.0.1` and its private key, made by
/// `openssl` in a directory of their own, for the TLS tests of the server and of NATS.
public struct SelfSignedCertificate: Sendable {
    /// The directory that holds both files.
    public let directory: TemporaryDirectory
    /// The certificate's path (PEM).
    public var certificate: String { directory.appending("cert.pem") }
    /// The private key's path (PEM).
    public var privateKey: String { directory.appending("key.pem") }

    /// Makes a certificate valid for a day.
    /// - Throws: ``OpenSSLFailed`` when openssl is missing or fails.
    public static func make() async throws -> SelfSignedCertificate {
        let made = SelfSignedCertificate(directory: try TemporaryDirectory("tls"))
        let outcome = try await ChildProcess.run("/usr/bin/env", [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "1", "-keyout", made.privateKey, "-out", made.certificate,
        ], timeout: .seconds(60))
        guard outcome.status == 0 else {
            made.remove()
            throw OpenSSLFailed(outcome: outcome)
        }
        return made
    }

    /// Removes both files and their directory.
    public func remove() { directory.remove() }

    /// `openssl req` did not make the certificate.
    public struct OpenSSLFailed: Error, CustomStringConvertible {
        /// What openssl left.
        public let outcome: ChildProcess.Outcome
        /// "openssl req failed: …".
        public var description: String { "openssl req failed: \(outcome)" }
    }
}
