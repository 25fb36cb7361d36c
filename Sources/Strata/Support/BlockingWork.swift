import Foundation

/// Long blocking work (file rewrites, large SQL statements) run from async code on a thread of
/// its own, so that it does not hold one of the few threads of Swift's cooperative pool.
public enum BlockingWork {
    /// Runs `work` on a new thread and returns its result.
    public static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
        }
    }
}
