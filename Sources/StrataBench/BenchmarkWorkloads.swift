import Strata

extension Benchmark {
    /// Every workload, in run order. The disk baseline runs first and last, so that a change of
    /// the disk's state during the run shows.
    static var workloads: [Workload<Backend>] {
        var list: [Workload<Backend>] = []
        list.append(Workload(["baseline.write_fsync"]) { c in
            [BenchResult(name: "baseline.write_fsync", value: try DiskBaseline.writeFsync(iterations: c.scale.baselineIterations, in: c.directory), unit: "iterations/s")]
        })
        for durability in [BenchDurability.none, .fsync] {
            for size in [1, 100, 1000] {
                let name = "append.batch\(size).\(durability.rawValue)"
                list.append(Workload([name]) { c in
                    let total = (durability == .none ? c.scale.appendNone : c.scale.appendFsync)[size] ?? 0
                    let rate = try await AppendWorkloads.batched(c.backend, batchSize: size, total: total, durability: durability, in: c.directory)
                    return [BenchResult(name: name, value: rate, unit: "events/s")]
                })
            }
        }
        for appenders in [1, 64] {
            let name = "append.single.c\(appenders).fsync"
            list.append(Workload([name]) { c in
                let rate = try await AppendWorkloads.concurrentSingles(c.backend, appenders: appenders, perAppender: c.scale.singlePerAppender[appenders] ?? 0,
                                                                       durability: .fsync, in: c.directory)
                return [BenchResult(name: name, value: rate, unit: "events/s")]
            })
        }
        list.append(Workload(["append.c8.batch10.fsync"]) { c in
            let rate = try await AppendWorkloads.concurrentBatches(c.backend, writers: 8, batchSize: 10, total: c.scale.concurrentBatches,
                                                                   durability: .fsync, in: c.directory)
            return [BenchResult(name: "append.c8.batch10.fsync", value: rate, unit: "events/s")]
        })
        list.append(Workload(["read.all", "read.stream"]) { c in
            let scratch = try ScratchDirectory(parent: c.directory, name: "read")
            defer { scratch.remove() }
            let streams = BenchEvents.streamNames("order", count: c.scale.readStreams)
            let events = c.scale.readEvents / 100 * 100
            c.options.progress("  filling a store with \(events) events")
            let store = try await ReadWorkloads.filledStore(c.backend, events: events, streams: streams, directory: scratch.path)
            var results: [BenchResult] = []
            do {
                if c.wants("read.all") {
                    results.append(BenchResult(name: "read.all", value: try await ReadWorkloads.all(store, expected: events), unit: "events/s"))
                }
                if c.wants("read.stream") {
                    results.append(BenchResult(name: "read.stream", value: try await ReadWorkloads.streams(store, names: streams, expected: events), unit: "events/s"))
                }
            } catch {
                try? await store.close()
                throw error
            }
            try await store.close()
            return results
        })
        list.append(Workload(["subscribe.latency.p50", "subscribe.latency.p99"]) { c in
            let sorted = try await SubscriptionLatency.measure(c.backend, samples: c.scale.latencySamples, in: c.directory)
            return [
                BenchResult(name: "subscribe.latency.p50", value: Double(LatencySamples.quantile(sorted, 0.50)) / 1000, unit: "us"),
                BenchResult(name: "subscribe.latency.p99", value: Double(LatencySamples.quantile(sorted, 0.99)) / 1000, unit: "us"),
            ]
        })
        list.append(Workload(["log.backup.full", "log.backup.incremental", "log.restore"]) { c in
            let rates = try await BackupWorkloads.run(events: c.scale.readEvents, in: c.directory, progress: c.options.progress)
            return [
                BenchResult(name: "log.backup.full", value: rates.full, unit: "MB/s"),
                BenchResult(name: "log.backup.incremental", value: rates.incremental, unit: "MB/s"),
                BenchResult(name: "log.restore", value: rates.restore, unit: "MB/s"),
            ]
        })
        list.append(Workload(["log.scavenge"]) { c in
            let rate = try await ScavengeWorkloads.log(events: c.scale.readEvents, in: c.directory, progress: c.options.progress)
            return [BenchResult(name: "log.scavenge", value: rate, unit: "MB/s")]
        })
        let sqliteAppends: [(name: String, size: Int, durability: BenchDurability, total: KeyPath<BenchScale, Int>)] = [
            ("sqlite.append.batch1000", 1000, .none, \.sqliteBatchNone),
            ("sqlite.append.batch1000.fsync", 1000, .fsync, \.sqliteBatchFsync),
            ("sqlite.append.batch1.fsync", 1, .fsync, \.sqliteSingleFsync),
        ]
        for workload in sqliteAppends {
            list.append(Workload([workload.name]) { c in
                let rate = try SQLiteWorkloads.append(batchSize: workload.size, total: c.scale[keyPath: workload.total],
                                                      durability: workload.durability, in: c.directory)
                return [BenchResult(name: workload.name, value: rate, unit: "events/s")]
            })
        }
        list.append(Workload(["sqlite.read.all"]) { c in
            let streams = BenchEvents.streamNames("order", count: c.scale.readStreams)
            c.options.progress("  filling a SQLite database with \(c.scale.readEvents) events")
            let rate = try SQLiteWorkloads.readAll(events: c.scale.readEvents, streams: streams, in: c.directory)
            return [BenchResult(name: "sqlite.read.all", value: rate, unit: "events/s")]
        })
        for (label, size) in [("1m", \BenchScale.openSmall), ("10m", \BenchScale.openLarge)] {
            let names = ["open.\(label)", "rss.open.\(label)", "rss.anon.open.\(label)",
                         "open.\(label).read.stream", "open.\(label).append.batch100"]
            list.append(Workload(names, needsPersistence: true) { c in
                let events = c.scale[keyPath: size] / 1000 * 1000
                let scratch = try ScratchDirectory(parent: c.directory, name: "open-\(label)")
                defer { scratch.remove() }
                c.options.progress("  building a store of \(events) events over \(OpenWorkload.streamCount) streams")
                try await OpenWorkload.build(c.backend, events: events, directory: scratch.path) { done in
                    c.options.progress("    \(done) events")
                }
                let measurement: OpenMeasurement
                if let probe = c.options.openProbe {
                    measurement = try await probe(scratch.path)
                } else {
                    measurement = try await OpenWorkload.measure(c.backend, directory: scratch.path)
                }
                if measurement.headPosition != UInt64(events) {
                    throw StrataError.invalidArgument("open.\(label) reopened a store of \(events) events at head position \(measurement.headPosition)")
                }
                var results = [BenchResult(name: "open.\(label)", value: measurement.milliseconds, unit: "ms")]
                if let bytes = measurement.residentBytes {
                    results.append(BenchResult(name: "rss.open.\(label)", value: Double(bytes) / 1_048_576, unit: "MiB"))
                }
                if let bytes = measurement.anonymousBytes {
                    results.append(BenchResult(name: "rss.anon.open.\(label)", value: Double(bytes) / 1_048_576, unit: "MiB"))
                }
                if c.wants("open.\(label).read.stream") || c.wants("open.\(label).append.batch100") {
                    let rates = try await OpenWorkload.readAndAppend(c.backend, directory: scratch.path, streams: 2000)
                    results.append(BenchResult(name: "open.\(label).read.stream", value: rates.readStream, unit: "events/s"))
                    results.append(BenchResult(name: "open.\(label).append.batch100", value: rates.append, unit: "events/s"))
                }
                return results
            })
        }
        list.append(Workload(["model.replay.raw", "model.replay.typed"]) { c in
            let scratch = try ScratchDirectory(parent: c.directory, name: "model")
            defer { scratch.remove() }
            let store = try await c.backend.open(directory: scratch.path, durability: .none)
            c.options.progress("  filling one stream with \(c.scale.modelReplayEvents) typed events")
            try await ModelWorkloads.fillLedger(store, events: c.scale.modelReplayEvents, stream: "ledger-bench")
            var results: [BenchResult] = []
            if c.wants("model.replay.raw") {
                results.append(BenchResult(name: "model.replay.raw", value: try await ModelWorkloads.rawReplay(store, events: c.scale.modelReplayEvents, stream: "ledger-bench"), unit: "events/s"))
            }
            if c.wants("model.replay.typed") {
                results.append(BenchResult(name: "model.replay.typed", value: try await ModelWorkloads.typedReplay(store, events: c.scale.modelReplayEvents, stream: "ledger-bench"), unit: "events/s"))
            }
            try await store.close()
            return results
        })
        list.append(Workload(["model.projector"]) { c in
            let scratch = try ScratchDirectory(parent: c.directory, name: "projector")
            defer { scratch.remove() }
            let store = try await c.backend.open(directory: scratch.path, durability: .none)
            let rate = try await ModelWorkloads.projector(store, events: c.scale.projectorEvents, streams: 1000)
            try await store.close()
            return [BenchResult(name: "model.projector", value: rate, unit: "events/s")]
        })
        list.append(Workload(["json.decode.foundation", "json.decode.strata"]) { c in
            let rates = try JSONWorkloads.decode(count: c.scale.jsonEvents, foundationCount: c.scale.jsonEvents / 5)
            return [
                BenchResult(name: "json.decode.foundation", value: rates.foundation, unit: "events/s"),
                BenchResult(name: "json.decode.strata", value: rates.strata, unit: "events/s"),
            ]
        })
        list.append(Workload(["json.encode.foundation", "json.encode.strata"]) { c in
            let rates = try JSONWorkloads.encode(count: c.scale.jsonEvents, foundationCount: c.scale.jsonEvents / 5)
            return [
                BenchResult(name: "json.encode.foundation", value: rates.foundation, unit: "events/s"),
                BenchResult(name: "json.encode.strata", value: rates.strata, unit: "events/s"),
            ]
        })
        list.append(Workload(["documents.put.batch1000", "documents.get", "documents.query.indexed_eq"]) { c in
            let scratch = try ScratchDirectory(parent: c.directory, name: "documents")
            defer { scratch.remove() }
            let store = try await c.backend.open(directory: scratch.path, durability: .none)
            c.options.progress("  putting \(c.scale.documentCount) documents in batches of 1000, 4 batches in flight")
            let (documents, putRate) = try await DocumentWorkloads.puts(store, count: c.scale.documentCount, batch: 1000, writers: 4)
            var results = [BenchResult(name: "documents.put.batch1000", value: putRate, unit: "documents/s")]
            if c.wants("documents.get") {
                results.append(BenchResult(name: "documents.get", value: try DocumentWorkloads.gets(documents, collectionSize: c.scale.documentCount,
                                                                                                  count: 2_000_000), unit: "gets/s"))
            }
            if c.wants("documents.query.indexed_eq") {
                results.append(BenchResult(name: "documents.query.indexed_eq", value: try DocumentWorkloads.indexedEquality(
                    documents, collectionSize: c.scale.documentCount, queries: 10_000), unit: "us"))
            }
            try await documents.close()
            try await store.close()
            return results
        })
        list.append(Workload(["export.jsonl", "export.gzip"]) { c in
            try await LakehouseWorkloads.run(c)
        })
        list.append(Workload(LakehouseWorkloads.filePatterns.map(\.name)) { c in
            try await LakehouseWorkloads.files(c)
        })
        list += postgresWorkloads
        list += emitterWorkloads
        list += jetStreamWorkloads
        list.append(Workload(["baseline.write_fsync.end"]) { c in
            [BenchResult(name: "baseline.write_fsync.end", value: try DiskBaseline.writeFsync(iterations: c.scale.baselineIterations, in: c.directory), unit: "iterations/s")]
        })
        return list
    }
}
