import Hummingbird

/// Checks that the request's key has the scope its route needs (read, write or admin): the one
/// place scopes are checked. ``Handlers/register(on:)`` puts every route in a group with the
/// scope it needs; what a key may touch within its scope (its stream prefix) is checked where
/// the stream or collection is known.
struct ScopeMiddleware: RouterMiddleware {
    typealias Context = StrataRequestContext
    let scope: APIKey.Scope

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try ScopeMiddleware.check(context.principal, scope)
        return try await next(request, context)
    }

    /// The rule: refused with 403 `missing-scope` unless the principal has `scope`. The
    /// WebSocket upgrade hook, which runs before routing, applies it too.
    static func check(_ principal: Principal, _ scope: APIKey.Scope) throws(APIError) {
        guard principal.allows(scope) else { throw APIError.missingScope(scope) }
    }
}
