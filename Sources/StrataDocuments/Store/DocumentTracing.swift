import Tracing

/// The document store's spans (through the tracer of `InstrumentationSystem`: none until a
/// program bootstraps one), and the detaching of its background work from the caller's trace.
enum DocumentTracing {
    /// Runs `body` in a span named `operation` with `strata.collection` (and `strata.position`
    /// when given) and, once it returns, `strata.result_count` from `results`; an error is
    /// recorded on the span.
    static func span<T>(_ operation: String, collection: String, position: UInt64? = nil, results: (T) -> Int,
                        _ body: () throws -> T) throws -> T {
        try withSpan(operation) { span in
            span.attributes["strata.collection"] = collection
            if let position { span.attributes["strata.position"] = Int64(clamping: position) }
            let value = try body()
            span.attributes["strata.result_count"] = results(value)
            return value
        }
    }

    /// Runs `body` with no instrumentation context: tasks it starts inherit none, so their work
    /// does not join the caller's trace (they outlive it).
    static func outsideTraces<T>(_ body: () throws -> T) rethrows -> T {
        try InstrumentationContext.withValue(nil, operation: body)
    }
}
