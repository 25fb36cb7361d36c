import Foundation
import Strata
import Synchronization

/// Notices commits made by other connections — other processes, or other stores on the same
/// file — with `PRAGMA data_version`, which changes whenever another connection committed and
/// costs no disk read. When it changed, the head is read and announced to the notifier.
final class ChangeWatcher: Sendable {
    private struct State {
        var db: SQLiteConnection?
        var version: Int64?
    }

    private let state: Mutex<State>
    private let notifier: AppendNotifier

    init(db: SQLiteConnection, notifier: AppendNotifier) {
        state = Mutex(State(db: db))
        self.notifier = notifier
    }

    /// Checks for commits by other connections and returns the head the notifier knows.
    func poll() throws -> UInt64 {
        let head: UInt64? = try state.withLock { s in
            guard let db = s.db else { return nil }
            return try SQLiteError.mapped {
                let version = try db.integer("PRAGMA data_version")
                guard version != s.version else { return nil }
                s.version = version
                return try SQLiteReaders.head(db)
            }
        }
        if let head { notifier.advance(to: head) }
        return notifier.head
    }

    /// Closes the watcher's connection; later polls return the last known head.
    func close() {
        let db = state.withLock { s in
            defer { s.db = nil }
            return s.db
        }
        db?.close()
    }
}
