import Hummingbird
import Strata
import StrataDocuments

/// Runs first on every request: applies the browser policy (origin, host, content type, CORS),
/// authenticates the key, applies the rate limit, gives the request its regular-expression
/// budget, times the request, and turns every thrown error into the JSON error response (the
/// one place errors become HTTP).
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
        var corsOrigin: String?
        do {
            corsOrigin = try state.browserPolicy.admit(request.head)
            if request.method == .options { return BrowserPolicy.preflight(origin: corsOrigin) }
            try BrowserPolicy.checkContentType(request.head)
            if !GuardMiddleware.isPublic(request.uri.path) {
                context.principal = try state.admit(headers: request.headers, query: Query(request.uri).parameters,
                                                    isGet: request.method == .get)
            }
            var response = try await RegexBudget.$current.withValue(RegexBudget(state.limits.regexBudget)) {
                try await next(request, context)
            }
            if let corsOrigin { BrowserPolicy.addCORSHeaders(&response, origin: corsOrigin) }
            return response
        } catch {
            let apiError = APIError.from(error)
            // A not-ready probe is no request failure: the stop behind it was logged once (ServerHealth).
            if apiError.status.code >= 500 && request.uri.path != "/health/ready" {
                state.logger.error("request failed", metadata: ["path": .string(request.uri.path), "error": .string(apiError.message)])
            }
            state.metrics.rejectedRequests.increment()
            var response = apiError.response
            if let corsOrigin { BrowserPolicy.addCORSHeaders(&response, origin: corsOrigin) }
            return response
        }
    }
}
