/// The background task of a consumer, a group member or a registry: started once, then
/// cancelled and awaited by ``stop()``.
final class BackgroundTask: Sendable {
    private let task = LockedBox<Task<Void, Never>?>(nil)

    /// Runs `body` in a new task, unless one started earlier is still held.
    func start(_ body: @escaping @Sendable () async -> Void) {
        task.withLock { task in
            guard task == nil else { return }
            task = Task { await body() }
        }
    }

    /// Cancels the task and waits until it has returned. Stopping a stopped one does nothing.
    func stop() async {
        let running = task.withLock { task -> Task<Void, Never>? in
            defer { task = nil }
            return task
        }
        running?.cancel()
        await running?.value
    }
}
