import Strata
import Crypto
import Foundation
import StrataJSON

/// AWS Signature Version 4 for S3 requests (header-based, signed payload hash).
///
/// Steps as in AWS's "Signature Version 4 signing process": a canonical request (method, encoded
/// path, sorted query, lower-cased sorted headers, the payload's SHA-256), a string to sign over
/// its hash and the credential scope, and an HMAC-SHA256 key derived from the secret through the
/// date, region, service and `aws4_request`.
public struct AWSSignatureV4: Sendable {
    /// The access key id.
    public var accessKey: String
    /// The secret access key.
    public var secretKey: String
    /// The region, for example `us-east-1`.
    public var region: String
    /// The service: `s3`.
    public var service: String

    /// Creates a signer.
    public init(accessKey: String, secretKey: String, region: String, service: String = "s3") {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.region = region
        self.service = service
    }

    /// The lower-case hex SHA-256 of `bytes`.
    public static func sha256Hex(_ bytes: some DataProtocol) -> String {
        hex(SHA256.hash(data: bytes))
    }

    /// Headers to add to a request: `x-amz-date`, `x-amz-content-sha256` and `Authorization`.
    /// - Parameters:
    ///   - method: `PUT`, `GET`, `DELETE` …
    ///   - path: The URL path as sent (already percent-encoded), for example `/bucket/events/a_1.jsonl`.
    ///   - query: Query parameters (not encoded).
    ///   - host: The `Host` header value (`127.0.0.1:9000`).
    ///   - payloadHash: ``sha256Hex(_:)`` of the body.
    ///   - date: The signing time.
    public func sign(method: String, path: String, query: [(String, String)] = [], host: String,
                     headers extra: [(String, String)] = [], payloadHash: String, date: Date = Date()) -> [(String, String)] {
        let (amzDate, day) = Self.timestamps(date)
        var headers = extra.map { ($0.0.lowercased(), $0.1.trimmingCharacters(in: .whitespaces)) }
        headers.append(("host", host))
        headers.append(("x-amz-content-sha256", payloadHash))
        headers.append(("x-amz-date", amzDate))
        headers.sort { $0.0 < $1.0 }
        let canonicalHeaders = headers.map { "\($0.0):\($0.1)\n" }.joined()
        let signedHeaders = headers.map(\.0).joined(separator: ";")
        var encodedQuery: [(name: String, value: String)] = query.map { pair in
            (name: Self.encode(pair.0, keepSlash: false), value: Self.encode(pair.1, keepSlash: false))
        }
        encodedQuery.sort { a, b in a.name == b.name ? a.value < b.value : a.name < b.name }
        let canonicalQuery = encodedQuery.map { pair in pair.name + "=" + pair.value }.joined(separator: "&")
        let canonicalRequest = [method, path, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, Self.sha256Hex(Data(canonicalRequest.utf8))].joined(separator: "\n")
        var key = SymmetricKey(data: Data(("AWS4" + secretKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
        let authorization = "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return [("x-amz-date", amzDate), ("x-amz-content-sha256", payloadHash), ("Authorization", authorization)]
    }

    /// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters stay, `/` stays in paths.
    public static func encode(_ text: String, keepSlash: Bool) -> String {
        var out = ""
        for byte in text.utf8 {
            let unreserved = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E || (keepSlash && byte == 0x2F)
            if unreserved {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    static func timestamps(_ date: Date) -> (amzDate: String, day: String) {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
        let c = UTCTime.civil(micros)
        let day = ExportFileName.pad(c.year, 4) + ExportFileName.pad(c.month, 2) + ExportFileName.pad(c.day, 2)
        let time = ExportFileName.pad(c.hour, 2) + ExportFileName.pad(c.minute, 2) + ExportFileName.pad(c.second, 2)
        return (day + "T" + time + "Z", day)
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
