import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
@_spi(Machinery) import Strata

/// An S3-compatible bucket (AWS S3, MinIO, moto, R2 …) addressed path-style:
/// `{endpoint}/{bucket}/{key}`, every request signed with AWS Signature V4.
public struct S3Bucket: Sendable {
    /// The service's base URL, for example `http://127.0.0.1:9000` or `https://s3.eu-west-1.amazonaws.com`.
    public var endpoint: String
    /// The bucket name.
    public var bucket: String
    /// The signer (credentials and region).
    public var signer: AWSSignatureV4
    /// How long one request may take.
    public var timeout: Duration
    private let client: HTTPClient

    /// Creates a bucket handle.
    /// - Throws: ``StrataError/invalidArgument(_:)`` when the endpoint is not an http(s) URL or
    ///   the bucket name is empty or holds a `/`.
    public init(endpoint: String, bucket: String, signer: AWSSignatureV4, timeout: Duration = .seconds(60),
                client: HTTPClient = .shared) throws {
        var endpoint = endpoint
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        guard let url = URL(string: endpoint), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw StrataError.invalidArgument("S3 endpoint \"\(endpoint)\" is not an http(s) URL")
        }
        guard !bucket.isEmpty, !bucket.contains("/") else {
            throw StrataError.invalidArgument("S3 bucket name \"\(bucket)\" is empty or holds a /")
        }
        self.endpoint = endpoint
        self.bucket = bucket
        self.signer = signer
        self.timeout = timeout
        self.client = client
    }

    /// Creates the bucket (`PUT /{bucket}`); an existing bucket of yours is not an error.
    public func createBucket() async throws {
        let (status, body) = try await send("PUT", path: "/" + bucket, body: [])
        guard (200..<300).contains(status) || body.contains("BucketAlreadyOwnedByYou") else {
            throw failure("PUT", "/" + bucket, status, body)
        }
    }

    /// Stores `bytes` under `key`: the object appears whole or not at all.
    public func putObject(key: String, bytes: [UInt8], contentType: String = "application/octet-stream") async throws {
        let path = objectPath(key)
        let (status, body) = try await send("PUT", path: path, body: bytes, headers: [("content-type", contentType)])
        guard (200..<300).contains(status) else { throw failure("PUT", path, status, body) }
    }

    /// The object's bytes, or `nil` when there is none.
    public func getObject(key: String) async throws -> [UInt8]? {
        let path = objectPath(key)
        let (status, body) = try await sendRaw("GET", path: path, query: [], body: [])
        if status == 404 { return nil }
        guard (200..<300).contains(status) else { throw failure("GET", path, status, String(decoding: body, as: UTF8.self)) }
        return body
    }

    /// Deletes the object (a missing object is not an error).
    public func deleteObject(key: String) async throws {
        let path = objectPath(key)
        let (status, body) = try await send("DELETE", path: path, body: [])
        guard (200..<300).contains(status) || status == 404 else { throw failure("DELETE", path, status, body) }
    }

    /// The keys under `prefix` (ListObjectsV2, following continuation tokens), sorted.
    public func listKeys(prefix: String) async throws -> [String] {
        var keys: [String] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let (status, raw) = try await sendRaw("GET", path: "/" + bucket, query: query, body: [])
            let body = String(decoding: raw, as: UTF8.self)
            guard (200..<300).contains(status) else { throw failure("GET", "/" + bucket, status, body) }
            keys += Self.elements("Key", in: body)
            token = Self.elements("NextContinuationToken", in: body).first
        } while token != nil
        return keys.sorted()
    }

    // MARK: - Requests

    private func objectPath(_ key: String) -> String {
        "/" + bucket + "/" + AWSSignatureV4.encode(key, keepSlash: true)
    }

    private func send(_ method: String, path: String, body: [UInt8], headers: [(String, String)] = []) async throws -> (Int, String) {
        let (status, raw) = try await sendRaw(method, path: path, query: [], body: body, headers: headers)
        return (status, String(decoding: raw, as: UTF8.self))
    }

    private func sendRaw(_ method: String, path: String, query: [(String, String)], body: [UInt8],
                         headers extra: [(String, String)] = []) async throws -> (Int, [UInt8]) {
        let url = URL(string: endpoint)!
        let host = url.host! + (url.port.map { ":\($0)" } ?? "")
        let signed = signer.sign(method: method, path: path, query: query, host: host, headers: extra,
                                 payloadHash: AWSSignatureV4.sha256Hex(body))
        let queryText = query.map { AWSSignatureV4.encode($0.0, keepSlash: false) + "=" + AWSSignatureV4.encode($0.1, keepSlash: false) }
            .joined(separator: "&")
        var request = HTTPClientRequest(url: endpoint + path + (queryText.isEmpty ? "" : "?" + queryText))
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in extra + signed { request.headers.add(name: name, value: value) }
        if !body.isEmpty || method == "PUT" {
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let seconds = Int64(timeout.components.seconds)
        do {
            let response = try await client.execute(request, timeout: .seconds(max(1, seconds)))
            var collected = try await response.body.collect(upTo: 256 << 20)
            let bytes = collected.readBytes(length: collected.readableBytes) ?? []
            return (Int(response.status.code), bytes)
        } catch let error as StrataError {
            throw error
        } catch {
            throw StrataError.io(path: endpoint + path, operation: method, reason: "\(error)")
        }
    }

    private func failure(_ method: String, _ path: String, _ status: Int, _ body: String) -> StrataError {
        let code = Self.elements("Code", in: body).first ?? "HTTP \(status)"
        let message = Self.elements("Message", in: body).first.map { ": " + $0 } ?? ""
        return .io(path: endpoint + path, operation: method, reason: "S3 answered \(status) \(code)\(message)")
    }

    /// The texts of `<name>…</name>` elements (S3's XML is flat enough for this).
    static func elements(_ name: String, in xml: String) -> [String] {
        var result: [String] = []
        var rest = xml[...]
        while let open = rest.range(of: "<\(name)>"), let close = rest.range(of: "</\(name)>", range: open.upperBound..<rest.endIndex) {
            result.append(String(rest[open.upperBound..<close.lowerBound])
                .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
                .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
                .replacingOccurrences(of: "&amp;", with: "&"))
            rest = rest[close.upperBound...]
        }
        return result
    }
}

/// An S3-compatible bucket as the lakehouse: each finished file is staged locally, then stored
/// with one PUT under `{prefix}/events/…` (an S3 object appears whole), then the staged file is
/// removed.
public struct S3Target: ExportTarget {
    /// The bucket.
    public let bucket: S3Bucket
    /// A key prefix without leading or trailing `/` (empty: the bucket's root).
    public let prefix: String
    public let stagingDirectory: String

    /// Creates a target.
    /// - Parameters:
    ///   - bucket: The bucket.
    ///   - prefix: Keys start with `{prefix}/events/`.
    ///   - stagingDirectory: A local folder for files being written.
    public init(bucket: S3Bucket, prefix: String = "", stagingDirectory: String) {
        self.bucket = bucket
        var p = prefix
        while p.hasPrefix("/") { p.removeFirst() }
        while p.hasSuffix("/") { p.removeLast() }
        self.prefix = p
        self.stagingDirectory = stagingDirectory
    }

    public var location: String { "s3://\(bucket.bucket)" + (prefix.isEmpty ? "" : "/" + prefix) }

    /// The object key of a lakehouse key.
    public func objectKey(_ key: String) -> String { prefix.isEmpty ? key : prefix + "/" + key }

    public func publish(stagedFile: String, key: String) async throws {
        guard let data = try DurableFile.read(stagedFile) else {
            throw StrataError.io(path: stagedFile, operation: "open", reason: "the staged file is missing")
        }
        let type = key.hasSuffix(".gz") ? "application/gzip" : "application/x-ndjson"
        try await bucket.putObject(key: objectKey(key), bytes: [UInt8](data), contentType: type)
        try DurableFile.remove(stagedFile)
    }

    public func remove(key: String) async throws {
        try await bucket.deleteObject(key: objectKey(key))
    }

    public func readState(key: String) async throws -> [UInt8]? {
        try await bucket.getObject(key: objectKey(key))
    }

    /// One PUT of `{prefix}/{key}`: an S3 object is replaced whole.
    public func writeState(_ bytes: [UInt8], key: String) async throws {
        try await bucket.putObject(key: objectKey(key), bytes: bytes, contentType: "application/json")
    }
}
