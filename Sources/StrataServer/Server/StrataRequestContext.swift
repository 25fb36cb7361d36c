import Hummingbird

/// The request context of Strata's routes: Hummingbird's core storage plus who is asking (set
/// once the request's key is checked). A Hummingbird application that mounts ``StrataRoutes``
/// uses it as its router's context; its own handlers see it as a plain request context.
public struct StrataRequestContext: RequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// Set by ``GuardMiddleware`` once the request's key is checked.
    var principal: Principal = .anonymous

    /// A context for a request the server received.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }
}
