import Foundation

/// One `strata serve` child process on 127.0.0.1: an instance of the many-instance tests
/// (docs/SCALING.md), which start several over one store URL.
///
/// The port is the server's own pick (`--port 0`), read from the `listening URL` line it prints,
/// so there is no window in which another process could take a port chosen beforehand.
public final class ServeInstance: Sendable, CustomStringConvertible {
    /// Which instance this is (0, 1, 2, … in start order).
    public let index: Int
    /// The child process.
    public let process: ChildProcess
    /// `http://127.0.0.1:PORT`.
    public let baseURL: String

    private init(index: Int, process: ChildProcess, baseURL: String) {
        self.index = index
        self.process = process
        self.baseURL = baseURL
    }

    /// Starts `strata serve --store STORE --host 127.0.0.1 --port 0 --create` (the executable:
    /// `STRATA_CLI_PATH`, or the one built next to the tests) and waits until it listens.
    public static func start(_ index: Int, store: String, timeout: Duration = .seconds(60)) async throws -> ServeInstance {
        let strata = try Executable.requireBuilt("strata", overriddenBy: "STRATA_CLI_PATH")
        let process = try ChildProcess.start(strata, ["serve", "--store", store, "--host", "127.0.0.1", "--port", "0", "--create"])
        do {
            let line = try await process.firstLine(startingWith: "listening ", timeout: timeout)
            return ServeInstance(index: index, process: process, baseURL: String(line.dropFirst("listening ".count)))
        } catch {
            try? await process.kill()
            throw error
        }
    }

    /// Starts `count` instances over `store` one after the other (the first creates the store),
    /// or none: on a failure the ones started are killed.
    public static func start(_ count: Int, store: String) async throws -> [ServeInstance] {
        var instances: [ServeInstance] = []
        do {
            for index in 0..<count { instances.append(try await start(index, store: store)) }
        } catch {
            await stopAll(instances)
            throw error
        }
        return instances
    }

    /// Starts `count` instances over `store`, runs `body` with them, and stops every one of them
    /// (``stopAll(_:grace:)``) whatever happens.
    public static func with<T>(_ count: Int, store: String, _ body: ([ServeInstance]) async throws -> T) async throws -> T {
        let instances = try await start(count, store: store)
        do {
            let value = try await body(instances)
            await stopAll(instances)
            return value
        } catch {
            await stopAll(instances)
            throw error
        }
    }

    /// SIGTERM to every instance still running, SIGKILL after `grace`; waits until each is gone.
    public static func stopAll(_ instances: [ServeInstance], grace: Duration = .seconds(10)) async {
        for instance in instances { _ = try? await instance.process.stop(grace: grace) }
    }

    /// "instance N (http://…)".
    public var description: String { "instance \(index) (\(baseURL))" }
}
