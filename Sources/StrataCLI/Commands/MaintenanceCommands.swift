import ArgumentParser
import Foundation
import Strata
import StrataCommandLine
import StrataJSONShapes

/// The store a maintenance command works on, or a clear error when it cannot reclaim space.
private func maintainable(_ store: any EventStore) throws -> any MaintainableEventStore {
    guard let store = store as? any MaintainableEventStore else {
        throw StrataError.unsupported("scavenging and erasure: this store cannot reclaim space or erase streams (file:, sqlite:, postgres: and http: stores can)")
    }
    return store
}

/// `strata scavenge`: reclaims the space of events no read returns (docs/OPERATIONS.md).
struct ScavengeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scavenge",
        abstract: "Reclaim the space of events no read can return: deleted and tombstoned streams, revisions metadata hides.",
        discussion: """
            Online: appends and reads go on meanwhile. Afterwards $all no longer holds those events and \
            their positions are gone for good; stream reads do not change. Prints the report as one JSON \
            object: eventsRemoved, bytesBefore, bytesAfter, bytesReclaimed, segmentsRewritten, seconds.
            """
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let report = try await global.storeURL().withStore(.existing) { store in try await maintainable(store).scavenge() }
        StandardOutput.stdout.writeLine(MaintenanceJSON.encode(report))
        StandardOutput.stdout.flush()
    }
}

/// `strata erase STREAM --reason TEXT`: erases a stream for good (docs/OPERATIONS.md).
struct EraseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase",
        abstract: "Erase a stream for good: its events' data and metadata leave the store, and $erasures records it.",
        discussion: """
            The stream is tombstoned (its name can never be written again) and one event is appended to \
            $erasures: {"stream", "lastRevision", "reason"}. Exported files and backups are not touched: \
            they are yours to handle. Prints {"stream", "eventsErased", "auditPosition"}.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The stream to erase.")
    var stream: String

    @Option(help: "Why: kept in the audit event (a ticket number, say).")
    var reason: String = ""

    func run() async throws {
        let report = try await global.storeURL().withStore(.existing) { store in
            try await maintainable(store).erase(stream, reason: reason)
        }
        StandardOutput.stdout.writeLine(MaintenanceJSON.encode(report))
        StandardOutput.stdout.flush()
    }
}
