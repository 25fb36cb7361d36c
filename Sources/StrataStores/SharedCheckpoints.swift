import Strata
import StrataConsumers
import StrataPostgres
import StrataSQLite

extension StoreRegistry {
    /// The checkpoint store a store keeps beside its events, for consumers and persistent
    /// subscriptions that should live with them: a ``StrataSQLite/SQLiteEventStore``'s is a
    /// ``StrataSQLite/SQLiteCheckpointStore`` on the same file, a
    /// ``StrataPostgres/PostgresEventStore``'s a ``StrataPostgres/PostgresCheckpointStore`` in
    /// its schema. Decorators (`ForwardingEventStore`: tracing, schema validation) are looked
    /// through. Nil for the other backends (the log engine, memory, JetStream, a server), which
    /// keep none: give them a `FileCheckpointStore`.
    /// - Throws: what opening the SQLite checkpoint tables throws.
    public static func sharedCheckpoints(of store: any EventStore) throws -> (any CheckpointStore & LeaseStore & SubscriptionDefinitionStore)? {
        var current = store
        while let decorator = current as? any ForwardingEventStore { current = decorator.forwardee }
        switch current {
        case let sqlite as SQLiteEventStore: return try SQLiteCheckpointStore(sharing: sqlite)
        case let postgres as PostgresEventStore: return PostgresCheckpointStore(store: postgres)
        default: return nil
        }
    }
}
