import ArgumentParser
import Strata
import StrataCommandLine

/// `strata init`: creates an empty store (or checks an existing one).
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create an empty store, or check that an existing one opens."
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let url = try global.storeURL()
        let existed = url.exists
        let store = try await url.open(.create)
        let head = try await store.headPosition()
        try await store.close()
        switch url.backend {
        case .memory:
            StandardOutput.stdout.writeLine("memory: stores need no initialization; nothing persists")
        case .file, .sqlite:
            let path = url.address
            StandardOutput.stdout.writeLine(existed ? "store at \(path) is ready (head position \(head))" : "created store at \(path)")
        case .postgres:
            StandardOutput.stdout.writeLine("store at \(url) is ready (schema version \(StoreURL.postgresSchemaVersion), head position \(head))")
        default:
            StandardOutput.stdout.writeLine("store at \(url) is ready (head position \(head))")
        }
        StandardOutput.stdout.flush()
    }
}
