import HTTPTypes
import Hummingbird
import Strata

/// What a browser may do with this server (docs/SERVER.md, "Security model"). A web page in
/// any tab can send requests to a server on the same machine; these rules make sure only the
/// pages the server itself serves, or origins the configuration names, can read or write:
///
/// - a request whose `Origin` is neither the server's own origin (`http(s)://` + its `Host`)
///   nor in ``ServerConfiguration/allowedOrigins`` is refused with 403 `origin-not-allowed`,
///   on every route and on WebSocket upgrades;
/// - with no API key configured, a `Host` that is not `localhost`, a loopback address or one of
///   ``ServerConfiguration/allowedHosts`` is refused with 403 `host-not-allowed` (DNS rebinding);
/// - `POST`, `PUT` and `PATCH` need `Content-Type: application/json` (415
///   `unsupported-media-type` otherwise), so that an HTML form or a `no-cors` fetch, which can
///   only send form and text types without a preflight, cannot write;
/// - CORS preflights from allowed origins are answered, and responses to them carry
///   `Access-Control-Allow-Origin`.
struct BrowserPolicy: Sendable {
    /// Allowed cross-origin callers, normalized (lowercase scheme and host, no default port).
    let allowedOrigins: Set<String>
    /// Host names accepted besides loopback ones when ``checksHost`` is on, lowercase.
    let allowedHosts: Set<String>
    /// Whether the `Host` header is checked (no API key configured).
    let checksHost: Bool
    /// `https` when the server serves TLS.
    let scheme: String

    init(configuration: ServerConfiguration) {
        allowedOrigins = Set(configuration.allowedOrigins.compactMap { BrowserPolicy.normalizedOrigin($0) })
        allowedHosts = Set(configuration.allowedHosts.map { $0.lowercased() })
        checksHost = configuration.apiKeys.isEmpty
        scheme = configuration.tls == nil ? "http" : "https"
    }

    /// Methods that change state and carry a body.
    static let bodyMethods: Set<HTTPRequest.Method> = [.post, .put, .patch]
    /// What a preflight may ask for.
    static let allowedMethods = "GET, POST, PUT, PATCH, DELETE"
    static let allowedHeaders = "Authorization, Content-Type, X-API-Key, Last-Event-ID"
    static let exposedHeaders = "Retry-After, Location"

    /// Checks a request's `Origin` and `Host`; returns the origin to answer with CORS headers
    /// when the request is an allowed cross-origin one.
    func admit(_ head: HTTPRequest) throws(APIError) -> String? {
        let host = head.authority
        if checksHost, let host, !isAcceptedHost(host) {
            throw APIError(.forbidden, code: "host-not-allowed",
                           "this server has no API key and answers only requests for localhost or a loopback address, not \"\(host.prefix(100))\"; add the name to allowedHosts, or configure API keys")
        }
        guard let origin = head.headerFields[.origin] else { return nil }
        // Browsers send the page's origin: http(s), `null` (sandboxed frames, some file pages),
        // `file://`, or an extension's scheme. `ws://` and `wss://` are never a page's origin:
        // WebSocket libraries send them (HummingbirdWSClient sends `ws://host`), programs that
        // could as well send no Origin, so they pass.
        let lower = origin.lowercased()
        if lower.hasPrefix("ws://") || lower.hasPrefix("wss://") { return nil }
        if let host, let own = BrowserPolicy.normalizedOrigin("\(scheme)://\(host)"), BrowserPolicy.normalizedOrigin(origin) == own {
            return nil
        }
        if let normalized = BrowserPolicy.normalizedOrigin(origin), allowedOrigins.contains(normalized) { return origin }
        throw APIError(.forbidden, code: "origin-not-allowed",
                       "requests from the web origin \"\(origin.prefix(100))\" are not allowed; add it to allowedOrigins to let its pages call this server")
    }

    /// Checks that a request with a body declares JSON.
    static func checkContentType(_ head: HTTPRequest) throws(APIError) {
        guard bodyMethods.contains(head.method) else { return }
        let declared = head.headerFields[.contentType] ?? ""
        let mediaType = declared.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard mediaType == "application/json" else {
            throw APIError(.unsupportedMediaType, code: "unsupported-media-type",
                           declared.isEmpty ? "send the body with Content-Type: application/json"
                                            : "the body must be sent as Content-Type: application/json, not \"\(declared.prefix(100))\"")
        }
    }

    /// The answer to a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`) from an
    /// allowed origin, or a plain `OPTIONS`.
    static func preflight(origin: String?) -> Response {
        var headers: HTTPFields = [.allow: "GET, POST, PUT, PATCH, DELETE, OPTIONS"]
        if let origin {
            headers[.accessControlAllowOrigin] = origin
            headers[.accessControlAllowMethods] = allowedMethods
            headers[.accessControlAllowHeaders] = allowedHeaders
            headers[.accessControlMaxAge] = "600"
            headers[.vary] = "Origin"
        }
        return Response(status: .noContent, headers: headers)
    }

    /// Adds the CORS headers of an allowed cross-origin request to its response.
    static func addCORSHeaders(_ response: inout Response, origin: String) {
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.accessControlExposeHeaders] = exposedHeaders
        response.headers[.vary] = "Origin"
    }

    /// Whether `host` (a `Host` header value, with or without port) names this machine or an
    /// allowed name.
    func isAcceptedHost(_ host: String) -> Bool {
        let name = BrowserPolicy.hostName(host)
        if name == "localhost" || name == "::1" || allowedHosts.contains(name) { return true }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// The name of a `Host` value: lowercase, without port, IPv6 without brackets.
    static func hostName(_ host: String) -> String {
        let lower = host.lowercased()
        if lower.hasPrefix("["), let end = lower.firstIndex(of: "]") {
            return String(lower[lower.index(after: lower.startIndex)..<end])
        }
        if let colon = lower.lastIndex(of: ":"), lower[lower.index(after: colon)...].allSatisfy(\.isNumber) {
            return String(lower[..<colon])
        }
        return lower
    }

    /// `scheme://host[:port]` in lowercase without a default port, or nil when `origin` is not
    /// an http(s) origin.
    static func normalizedOrigin(_ origin: String) -> String? {
        let lower = origin.lowercased()
        let scheme: String, defaultPort: String
        if lower.hasPrefix("http://") { scheme = "http"; defaultPort = "80" }
        else if lower.hasPrefix("https://") { scheme = "https"; defaultPort = "443" }
        else { return nil }
        var rest = lower.dropFirst(scheme.count + 3)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("@"), !rest.contains("?"), !rest.contains("#") else { return nil }
        if rest.hasSuffix(":" + defaultPort) { rest = rest.dropLast(defaultPort.count + 1) }
        return "\(scheme)://\(rest)"
    }

    /// Checks an `allowedOrigins` entry.
    static func validateOrigin(_ origin: String) throws {
        guard normalizedOrigin(origin) != nil else {
            throw StrataError.invalidArgument("allowedOrigins entry \"\(origin)\" is not an origin: give scheme://host[:port] (http or https, no path)")
        }
    }
}
