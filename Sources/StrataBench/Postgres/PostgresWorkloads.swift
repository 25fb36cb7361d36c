import Strata

extension Benchmark {
    /// The PostgreSQL comparison (with `--postgres URL`): the PostgreSQL backend on the key
    /// workload — 8 concurrent writers, batches of 10, durable commits, `$all` checked
    /// gap-free afterwards — beside raw SQL inserts of the same batches into a Strata schema.
    static var postgresWorkloads: [Workload<Backend>] {
        [
            Workload(["postgres.append.c8.batch10.fsync"], needsPostgres: true) { c in
                let url = c.options.postgresURL!
                let rate = try await AppendWorkloads.concurrentBatches(PostgresBenchBackend(url: url), writers: 8, batchSize: 10,
                                                                       total: c.scale.concurrentBatches, durability: .fsync, in: c.directory)
                try await PostgresBench.dropSchemas(url: url)
                return [BenchResult(name: "postgres.append.c8.batch10.fsync", value: rate, unit: "events/s")]
            },
            Workload(["postgres.raw.append.c8.batch10.fsync"], needsPostgres: true) { c in
                let rate = try await PostgresRawWorkloads.append(url: c.options.postgresURL!, positions: .counter, writers: 8, batchSize: 10,
                                                                 total: c.scale.concurrentBatches)
                return [BenchResult(name: "postgres.raw.append.c8.batch10.fsync", value: rate, unit: "events/s")]
            },
            Workload(["postgres.raw.sequence.append.c8.batch10.fsync"], needsPostgres: true) { c in
                let rate = try await PostgresRawWorkloads.append(url: c.options.postgresURL!, positions: .sequence, writers: 8, batchSize: 10,
                                                                 total: c.scale.concurrentBatches)
                return [BenchResult(name: "postgres.raw.sequence.append.c8.batch10.fsync", value: rate, unit: "events/s")]
            },
        ]
    }
}
