import StrataCommandLine
import StrataPostgres

extension StoreURL {
    /// The PostgreSQL schema version this build writes (`strata init` reports it).
    static var postgresSchemaVersion: Int { PostgresEventStore.schemaVersion }
}
