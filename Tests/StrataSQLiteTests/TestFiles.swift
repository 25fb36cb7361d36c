import Foundation
import Testing

/// Temporary directories and bounded waits for the SQLite tests.
enum TestFiles {
    /// A fresh directory under the temporary directory (not created).
    static func directory(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("strata-sqlite-\(label)-\(UUID().uuidString)").path
    }

    static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    struct TimedOut: Error, CustomStringConvertible {
        let what: String
        var description: String { "timed out waiting for \(what)" }
    }

    /// Runs `body`, failing with ``TimedOut`` when it takes longer than `limit` (the body is cancelled).
    static func within<T: Sendable>(_ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw TimedOut(what: what) }
            return value
        }
    }
}
