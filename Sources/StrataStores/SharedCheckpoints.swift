import Strata
import StrataConsumers
import StrataJetStream
import StrataPostgres
import StrataSQLite

extension StoreRegistry {
    /// The checkpoint store a store keeps beside its events, for consumers and persistent
    /// subscriptions that should live with them: a ``StrataSQLite/SQLiteEventStore``'s is a
    /// ``StrataSQLite/SQLiteCheckpointStore`` on the same file, a
    /// ``StrataPostgres/PostgresEventStore``'s a ``StrataPostgres/PostgresCheckpointStore`` in
    /// its schema, a ``StrataJetStream/JetStreamEventStore``'s a
    /// ``StrataJetStream/JetStreamCheckpointStore`` in its consumers' stream. Decorators
    /// (`ForwardingEventStore`: tracing, schema validation) are looked through. Nil for the other
    /// backends (the log engine, memory, a server), which keep none: give them a
    /// `FileCheckpointStore`.
    /// - Throws: what opening the SQLite checkpoint tables or the JetStream consumers' stream throws.
    public static func sharedCheckpoints(of store: any EventStore) async throws -> (any CheckpointStore & LeaseStore & SubscriptionDefinitionStore)? {
        var current = store
        while let decorator = current as? any ForwardingEventStore { current = decorator.forwardee }
        switch current {
        case let sqlite as SQLiteEventStore: return try SQLiteCheckpointStore(sharing: sqlite)
        case let postgres as PostgresEventStore: return PostgresCheckpointStore(store: postgres)
        case let jetStream as JetStreamEventStore: return try await JetStreamCheckpointStore.open(sharing: jetStream)
        default: return nil
        }
    }
}
