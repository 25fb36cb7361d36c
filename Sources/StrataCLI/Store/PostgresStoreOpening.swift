import Strata
import StrataBench
import StrataPostgres

extension StoreURL {
    /// Checks a `postgres://` URL's options (schema name, sslmode, pool) without connecting.
    static func checkPostgres(_ text: String) throws -> String {
        _ = try PostgresConfiguration(url: text)
        return text
    }

    /// The schema version this build writes.
    static var postgresSchemaVersion: Int { PostgresEventStore.schemaVersion }

    /// Runs the benchmark on the PostgreSQL backend, each workload in a schema of its own,
    /// dropped at the end.
    static func runPostgresBenchmark(url: String, options: BenchOptions) async throws -> BenchReport {
        try await PostgresBench.dropSchemas(url: url)
        do {
            let report = try await Benchmark(backend: PostgresBenchBackend(url: url), options: options).run()
            try await PostgresBench.dropSchemas(url: url)
            return report
        } catch {
            try? await PostgresBench.dropSchemas(url: url)
            throw error
        }
    }
}
