import Foundation
import Strata
import StrataConsumers

/// Exports a store's events as time-partitioned JSON Lines files (docs/LAKEHOUSE.md):
/// `events/{yyyy}/{mm}/{dd}/{hh}/{source}_{firstPosition}.jsonl[.gz]`.
///
/// ```swift
/// let exporter = try LakehouseExporter(store: store, target: try DirectoryTarget(root: "/data/lake"),
///                                      checkpoints: try FileCheckpointStore(directory: "/data/checkpoints"),
///                                      configuration: ExportConfiguration(source: "node-1", compression: .gzip()))
/// let summary = try await exporter.exportAvailable()   // everything up to the head, then stop
/// ```
///
/// It is a ``CheckpointedConsumer`` over `$all`. Up to ``ExportConfiguration/maxOpenFiles`` files
/// are open at once, one per hour of event time, so events whose times interleave across hours
/// still fill few files. A restart resumes from the checkpoint with no event missing and none
/// twice: it skips events of the files the export journal (`_state/{source}.json` under the
/// target) lists, and a crash may leave one unlisted file that the restart rewrites under the
/// same name. Files appear whole: they are written in the target's staging folder, flushed, and
/// renamed (or uploaded) into place.
public final class LakehouseExporter: Sendable {
    /// The store exported.
    public let store: any EventStore
    /// Where the files go.
    public let target: any ExportTarget
    /// Where the exporter's checkpoint lives (consumer name: ``ExportConfiguration/consumerName``).
    public let checkpoints: FileCheckpointStore
    /// The settings.
    public let configuration: ExportConfiguration

    /// Creates an exporter; nothing runs until ``run(onProgress:)`` or ``exportAvailable(onProgress:)``.
    /// - Throws: ``StrataError/invalidArgument(_:)`` for a bad setting.
    public init(store: any EventStore, target: any ExportTarget, checkpoints: FileCheckpointStore,
                configuration: ExportConfiguration) throws {
        try configuration.validate()
        self.store = store
        self.target = target
        self.checkpoints = checkpoints
        self.configuration = configuration
    }

    /// Exports everything recorded up to the store's head when called, publishes the open files,
    /// saves the checkpoint, and returns.
    /// - Parameter onProgress: Called about ten times a second with the progress so far.
    /// - Throws: a store error, ``StrataError/checkpointAheadOfStore(consumer:checkpoint:head:)``
    ///   for a checkpoint beyond the store's head, ``StrataError/corruption(path:offset:reason:)`` or
    ///   ``StrataError/unsupportedFormat(path:found:supported:)`` for an export journal it cannot use,
    ///   or the write/upload error that outlasted the retries.
    @discardableResult
    public func exportAvailable(onProgress: (@Sendable (ExportProgress) -> Void)? = nil) async throws -> ExportSummary {
        let head = try await store.headPosition()
        return try await execute(onProgress: onProgress, head: head) { consumer in
            try await consumer.waitUntilProcessed(through: head, timeout: .seconds(100 * 365 * 86_400))
        }
    }

    /// Exports continuously: catches up, then follows new events, finishing files by size, by
    /// ``ExportConfiguration/maxFileAge`` and to make room for another hour. Returns when the
    /// calling task is cancelled, after publishing the open files and saving the checkpoint.
    /// - Throws: a store error (it ends the run), ``StrataError/checkpointAheadOfStore(consumer:checkpoint:head:)``
    ///   for a checkpoint beyond the store's head, ``StrataError/corruption(path:offset:reason:)`` or
    ///   ``StrataError/unsupportedFormat(path:found:supported:)`` for an export journal it cannot use,
    ///   or the write/upload error that outlasted the retries.
    @discardableResult
    public func run(onProgress: (@Sendable (ExportProgress) -> Void)? = nil) async throws -> ExportSummary {
        try await execute(onProgress: onProgress, head: nil) { consumer in
            // Until cancelled, or until an error stops the consumer (then it throws, and the run
            // ends with the consumer's error instead of waiting forever).
            try await consumer.waitUntilProcessed(through: .max, timeout: .seconds(100 * 365 * 86_400))
        }
    }

    private func execute(onProgress: (@Sendable (ExportProgress) -> Void)?, head: UInt64?,
                         until done: @Sendable (CheckpointedConsumer<ExportCheckpoints>) async throws -> Void) async throws -> ExportSummary {
        let name = configuration.consumerName
        let start = try await checkpoints.checkpoint(for: name) ?? 0
        let journal = try await ExportJournal.load(from: target, source: configuration.source, checkpoint: start)
        let writer = try ExportWriter(configuration: configuration, target: target, checkpoints: checkpoints, checkpoint: start,
                                      journal: journal)
        let options = ConsumerOptions(filter: configuration.filter, batchSize: configuration.batchSize,
                                      retry: configuration.retry, parkFailures: false, logger: configuration.logger)
        let consumer = CheckpointedConsumer(name: name, store: store, checkpoints: ExportCheckpoints(base: checkpoints, writer: writer),
                                            options: options) { events, _ in
            try await writer.write(events)
        }
        let runner = Task { try await consumer.run() }
        let maxAge = configuration.maxFileAge
        let tick = max(Duration.milliseconds(10), min(Duration.seconds(1), maxAge / 4))
        let roller = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: tick)
                if Task.isCancelled { break }
                try? await writer.rollIfOlder(than: maxAge)
            }
        }
        let reporter: Task<Void, Never>? = onProgress.map { report in
            Task {
                while !Task.isCancelled {
                    let p = await writer.progress
                    report(ExportProgress(events: p.events, files: p.files, position: p.lastPosition, head: head))
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
        }
        defer {
            roller.cancel()
            reporter?.cancel()
        }
        do {
            try await withTaskCancellationHandler {
                try await done(consumer)
            } onCancel: {
                runner.cancel()
            }
        } catch {
            runner.cancel()
            // The consumer's own error explains a stop better than the waiter's "stopped".
            var consumerError: (any Error)?
            do { try await runner.value } catch { consumerError = error }
            if !(error is CancellationError) || consumerError != nil {
                await writer.abandon()
                throw consumerError ?? error
            }
        }
        runner.cancel()
        do {
            try await runner.value
        } catch {
            await writer.abandon()
            throw error
        }
        roller.cancel()
        _ = await roller.value
        // Finish outside the caller's (possibly cancelled) task, so an upload is not cut short.
        try await Task { try await writer.finish() }.value
        let p = await writer.progress
        let keys = await writer.publishedKeys
        if let onProgress { onProgress(ExportProgress(events: p.events, files: p.files, position: p.lastPosition, head: head)) }
        return ExportSummary(events: p.events, files: p.files, keys: keys,
                             checkpoint: try await checkpoints.checkpoint(for: name) ?? 0)
    }
}

/// How far an export has come.
public struct ExportProgress: Sendable, Hashable {
    /// Events written into files in this run.
    public var events: Int
    /// Files published in this run.
    public var files: Int
    /// The position of the last event written.
    public var position: UInt64
    /// The head the run exports up to (`nil` when following).
    public var head: UInt64?
}

/// What an export run did.
public struct ExportSummary: Sendable, Hashable {
    /// Events written in this run.
    public var events: Int
    /// Files published in this run.
    public var files: Int
    /// The keys of the files published (the last 1,000).
    public var keys: [String]
    /// The saved checkpoint at the end.
    public var checkpoint: UInt64
}
