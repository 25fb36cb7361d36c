import Strata
import Tracing

extension TracedEventStore: MaintainableEventStore {
    /// The wrapped store, when it can scavenge and erase.
    private func maintainable() throws -> any MaintainableEventStore {
        guard let store = base as? any MaintainableEventStore else {
            throw StrataError.unsupported("scavenging and erasure: this store cannot reclaim space or erase streams")
        }
        return store
    }

    /// Scavenges the wrapped store in a `strata.scavenge` span (`strata.events_removed`,
    /// `strata.bytes_reclaimed`); `unsupported` when it cannot.
    public func scavenge() async throws -> ScavengeReport {
        try await traced("strata.scavenge", [:], { try await maintainable().scavenge() }) { report, attributes in
            attributes["strata.events_removed"] = report.eventsRemoved
            attributes["strata.bytes_reclaimed"] = Int(report.bytesReclaimed)
        }
    }

    /// Erases through the wrapped store in a `strata.erase` span (`strata.stream`,
    /// `strata.event_count`); `unsupported` when it cannot.
    public func erase(_ stream: String, reason: String) async throws -> ErasureReport {
        try await traced("strata.erase", ["strata.stream": .string(stream)], { try await maintainable().erase(stream, reason: reason) }) { report, attributes in
            attributes["strata.event_count"] = report.eventsErased
        }
    }
}
