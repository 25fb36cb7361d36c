import Hummingbird

/// The per-request context: Hummingbird's core storage plus who is asking.
struct StrataRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Set by ``GuardMiddleware`` once the request's key is checked.
    var principal: Principal = .anonymous

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }
}
