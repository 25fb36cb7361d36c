import Hummingbird
import Strata

/// Runs first on every request: authenticates the key, applies the rate limit, times the
/// request, and turns every thrown error into the JSON error response (the one place errors
/// become HTTP).
struct GuardMiddleware: RouterMiddleware {
    typealias Context = StrataRequestContext
    let state: ServerState

    /// Paths anyone may fetch: probes, the OpenAPI document and the admin page's static files.
    static func isPublic(_ path: String) -> Bool {
        path == "/" || path == "/openapi.yaml" || path == "/health/live" || path == "/health/ready" || path.hasPrefix("/admin/")
            || path == "/favicon.ico"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        defer { state.metrics.requestDuration.record(duration: .now - started) }
        var context = context
        do {
            if !GuardMiddleware.isPublic(request.uri.path) {
                let query = Query(request.uri)
                let presented = Authenticator.presentedKey(headers: request.headers, query: query.parameters, isGet: request.method == .get)
                let principal = try state.authenticator.authenticate(presented)
                if let wait = state.rateLimiter.acquire(principal.name) {
                    var error = APIError(.tooManyRequests, code: "rate-limited",
                                         "over \(Int(state.limits.requestsPerSecondPerKey)) requests per second for this key; retry later")
                    error.retryAfter = max(1, Int(wait.rounded(.up)))
                    throw error
                }
                context.principal = principal
            }
            return try await next(request, context)
        } catch {
            let apiError = APIError.from(error)
            // A not-ready probe is no request failure: the stop behind it was logged once (ServerHealth).
            if apiError.status.code >= 500 && request.uri.path != "/health/ready" {
                state.logger.error("request failed", metadata: ["path": .string(request.uri.path), "error": .string(apiError.message)])
            }
            state.metrics.rejectedRequests.increment()
            return apiError.response
        }
    }
}
