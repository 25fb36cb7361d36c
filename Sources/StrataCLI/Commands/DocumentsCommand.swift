import ArgumentParser
import Foundation
import Strata
import StrataCommandLine
import StrataDocuments

/// `strata documents …`: Strata Documents, their history, points in time, snapshots and CDC
/// changes on any store (docs/CLI.md, "strata documents"). Every subcommand prints JSON lines,
/// the objects the HTTP API answers (`Document.json`, `DocumentVersion.json`, `CDCChange.json`,
/// `RestoreReport.json`, `SnapshotInfo.json`, `SnapshotEntry.json`).
struct DocumentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "documents",
        abstract: "Document collections: get, put, delete, keys, query, history, restore, snapshots and CDC changes.",
        discussion: """
            Each command opens the collection over --store (its view is rebuilt from the store) and \
            prints JSON lines; a document is {"data","meta"}. POINT is a $all position (digits; a \
            change's bookmark works) or an ISO 8601 UTC time (2026-11-23T23:59:01.123Z). See docs/CLI.md.
            """,
        subcommands: [Get.self, Put.self, Delete.self, Keys.self, Query.self, History.self, Restore.self, Snapshot.self, Changes.self]
    )

    // MARK: Shared

    /// Opens the store and the collections, runs `body`, closes them all (whether `body`
    /// returns or throws). Names are checked before the store opens; `create` creates a missing
    /// local store (as `append` does).
    static func withCollections<T>(_ global: GlobalOptions, _ collections: [String], create: Bool = false,
                                   _ body: ([DocumentStore]) async throws -> T) async throws -> T {
        for name in collections { try DocumentNaming.validateCollection(name) }
        return try await global.storeURL().withStore(create ? .create : .existing) { store in
            var opened: [DocumentStore] = []
            do {
                for name in collections { opened.append(try await DocumentStore.open(store: store, collection: name)) }
                let value = try await body(opened)
                for documents in opened { try await documents.close() }
                return value
            } catch {
                for documents in opened { try? await documents.close() }
                throw error
            }
        }
    }

    /// ``withCollections(_:_:create:_:)`` for one collection.
    static func withCollection<T>(_ global: GlobalOptions, _ collection: String, create: Bool = false,
                                  _ body: (DocumentStore) async throws -> T) async throws -> T {
        try await withCollections(global, [collection], create: create) { try await body($0[0]) }
    }

    static func print(_ value: DocumentValue, flushing: Bool = false) {
        StandardOutput.stdout.writeLine(value.jsonBytes, flushing: flushing)
    }

    /// A JSON argument; not JSON is `invalidArgument` (exit 2).
    static func parse(_ text: String, _ what: String) throws -> DocumentValue {
        do { return try DocumentValue.parse(text) } catch {
            throw StrataError.invalidArgument("\(what) is not valid JSON: \(error)")
        }
    }

    /// The CDC options of `--cdc` writes: changes carry the previous document.
    static let cdcOptions = CDCOptions(trackPrevious: true)

    struct PointOption: ParsableArguments {
        @Option(help: ArgumentHelp("Read the collection as it was at POINT (a position or an ISO 8601 time).", valueName: "POINT"))
        var at: String?

        func point() throws -> PointInTime? { try at.map { try PointInTime(parsing: $0) } }
    }

    // MARK: Subcommands

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a document (with --at, as it was then); a missing one exits 1.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The collection.") var collection: String
        @Argument(help: "The key.") var key: String
        @OptionGroup var point: PointOption

        func run() async throws {
            let found: Document?
            if let point = try point.point() {
                try DocumentNaming.validateCollection(collection)
                found = try await global.storeURL().withStore(.existing) { store in
                    try await DocumentTimeline(store: store).state(of: collection, at: point).get(key)
                }
            } else {
                found = try await DocumentsCommand.withCollection(global, collection) { try $0.get(key) }
            }
            guard let document = found else { throw CommandFailure.notFound("no document \"\(key)\" in collection \"\(collection)\"") }
            DocumentsCommand.print(document.json)
            StandardOutput.stdout.flush()
        }
    }

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store a document under a key, replacing any there; prints it as stored.",
            discussion: "Creates a missing file: or sqlite: store, as append does. --cdc also records the change in cdc-COLLECTION.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The collection.") var collection: String
        @Argument(help: "The key.") var key: String
        @Argument(help: "The document, a JSON object.") var json: String
        @Option(help: ArgumentHelp("The document's current changes (0: it must not exist); else exit 3.", valueName: "N"))
        var expectedChanges: Int?
        @Flag(help: "Record the change (with the previous document) in the collection's change stream, atomically.")
        var cdc = false

        func run() async throws {
            let data = try DocumentsCommand.parse(json, "the document")
            let document = try await DocumentsCommand.withCollection(global, collection, create: true) { documents in
                if cdc {
                    _ = try await CDCCollection(documents, options: DocumentsCommand.cdcOptions).put(key, data, expectedChanges: expectedChanges)
                    return try documents.get(key)!
                }
                return try await documents.put(key, data, expectedChanges: expectedChanges)
            }
            DocumentsCommand.print(document.json)
            StandardOutput.stdout.flush()
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a document; prints {\"deleted\":true|false}.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The collection.") var collection: String
        @Argument(help: "The key.") var key: String
        @Option(help: ArgumentHelp("The document's current changes; else exit 3.", valueName: "N"))
        var expectedChanges: Int?
        @Flag(help: "Record the change (with the deleted document) in the collection's change stream, atomically.")
        var cdc = false

        func run() async throws {
            let deleted = try await DocumentsCommand.withCollection(global, collection) { documents in
                if cdc {
                    return try await CDCCollection(documents, options: DocumentsCommand.cdcOptions).delete(key, expectedChanges: expectedChanges) != nil
                }
                return try await documents.delete(key, expectedChanges: expectedChanges)
            }
            DocumentsCommand.print(["deleted": .bool(deleted)])
            StandardOutput.stdout.flush()
        }
    }

    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the keys, each as a JSON string, sorted by UTF-8 bytes.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The collection.") var collection: String
        @Option(help: ArgumentHelp("Only keys in which this regular expression finds a match.", valueName: "REGEX"))
        var pattern: String?
        @Option(help: ArgumentHelp("Only keys this glob (*, ?) matches whole.", valueName: "GLOB"))
        var glob: String?
        @OptionGroup var point: PointOption

        func validate() throws {
            if pattern != nil && glob != nil { throw ValidationError("give --pattern or --glob, not both") }
        }

        func run() async throws {
            let keys: [String]
            if let point = try point.point() {
                try DocumentNaming.validateCollection(collection)
                keys = try await global.storeURL().withStore(.existing) { store in
                    let past = try await DocumentTimeline(store: store).state(of: collection, at: point)
                    return try pattern.map { try past.keys(matching: $0) } ?? glob.map { try past.keys(glob: $0) } ?? past.keys()
                }
            } else {
                keys = try await DocumentsCommand.withCollection(global, collection) { documents in
                    try pattern.map { try documents.keys(matching: $0) } ?? glob.map { try documents.keys(glob: $0) } ?? documents.keys()
                }
            }
            for key in keys { DocumentsCommand.print(.string(key)) }
            StandardOutput.stdout.flush()
        }
    }

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the documents matching a filter, one per line.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The collection.") var collection: String
        @Argument(help: "A MongoDB-style JSON filter (docs/DOCUMENTS.md); default {}.") var filter: String = "{}"
        @Option(help: ArgumentHelp("Query options as JSON: {\"sort\", \"limit\", \"offset\", \"project\"}.", valueName: "JSON"))
        var options: String?
        @OptionGroup var point: PointOption

        func run() async throws {
            let filterValue = try DocumentsCommand.parse(filter, "the filter")
            let queryOptions = try options.map { try QueryOptions(json: try DocumentsCommand.parse($0, "--options")) } ?? QueryOptions()
            let found: [Document]
            if let point = try point.point() {
                try DocumentNaming.validateCollection(collection)
                found = try await global.storeURL().withStore(.existing) { store in
                    try await DocumentTimeline(store: store).state(of: collection, at: point).query(filterValue, options: queryOptions)
                }
            } else {
                found = try await DocumentsCommand.withCollection(global, collection) { try $0.query(filterValue, options: queryOptions) }
            }
            for document in found { DocumentsCommand.print(document.json) }
            StandardOutput.stdout.flush()
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print every version of a document, oldest first.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The collection.") var collection: String
        @Argument(help: "The key.") var key: String

        func run() async throws {
            let versions = try await global.storeURL().withStore(.existing) { store in
                try await DocumentTimeline(store: store).history(of: key, in: collection)
            }
            for version in versions { DocumentsCommand.print(version.json) }
            StandardOutput.stdout.flush()
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a collection what it was at POINT, in one atomic append; prints the restore report.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The collection.") var collection: String
        @Argument(help: "A position or an ISO 8601 time.") var point: String
        @Flag(help: "Record each write of the restore as a change in cdc-COLLECTION.")
        var cdc = false

        func run() async throws {
            let target = try PointInTime(parsing: point)
            let report = try await DocumentsCommand.withCollection(global, collection) { documents in
                let timeline = DocumentTimeline(store: documents.store)
                return cdc ? try await timeline.restore([CDCCollection(documents, options: DocumentsCommand.cdcOptions)], to: target)
                    : try await timeline.restore([documents], to: target)
            }
            DocumentsCommand.print(report.json)
            StandardOutput.stdout.flush()
        }
    }

    struct Changes: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a collection's recorded changes after a bookmark; --follow keeps printing new ones.",
            discussion: "With --follow, runs until SIGINT or SIGTERM (exit 0) or until --limit changes were printed.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The collection.") var collection: String
        @Option(help: ArgumentHelp("Only changes with a bookmark after N (default 0: all).", valueName: "N"))
        var after: UInt64 = 0
        @Option(help: ArgumentHelp("Print at most N changes.", valueName: "N"))
        var limit: Int?
        @Flag(help: "After the recorded changes, follow new ones live.")
        var follow = false

        func validate() throws {
            if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
        }

        func run() async throws {
            try DocumentNaming.validateCollection(collection)
            let url = try global.storeURL()
            guard follow else {
                let changes = try await url.withStore(.existing) { store in
                    try await DocumentTimeline(store: store).changes(of: collection, after: after, limit: limit)
                }
                for change in changes { DocumentsCommand.print(change.json) }
                StandardOutput.stdout.flush()
                return
            }
            let store = try await url.open(.existing)
            let name = collection, most = limit ?? Int.max
            let start: SubscriptionStart = after == 0 ? .start : .after(after)
            let subscription = store.subscribeToAll(from: start, filter: CDCChange.eventFilter(collection: name))
            let printing = Task {
                var printed = 0
                guard printed < most else { return }
                for try await message in subscription {
                    guard case .event(let event) = message, let change = try CDCChange.decode(event, collection: name) else { continue }
                    DocumentsCommand.print(change.json, flushing: true)
                    printed += 1
                    if printed >= most || StandardOutput.stdout.readerGone { return }
                }
            }
            let stop = StopSignals { printing.cancel() }
            defer { stop.cancel() }
            let outcome = await printing.result
            try? await store.close()
            StandardOutput.stdout.flush()
            try outcome.get()
        }
    }
}

extension DocumentsCommand {
    /// `strata documents snapshot …`: snapshot files in `--snapshots DIR` (docs/CDC.md, format version 1).
    struct Snapshot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create, list, read, restore and delete document snapshots in --snapshots DIR.",
            subcommands: [Create.self, List.self, Read.self, RestoreSnapshot.self, DeleteSnapshot.self])

        struct Folder: ParsableArguments {
            @Option(help: ArgumentHelp("The snapshots folder (snapshots are DIR/snapshots/<storeId>/<name>.json).", valueName: "DIR"))
            var snapshots: String

            var folder: DocumentSnapshots { DocumentSnapshots(root: snapshots) }

            /// A key that must name an existing snapshot (else exit 2).
            func existing(_ key: String) throws -> String {
                guard try folder.exists(key) else { throw StrataError.invalidArgument("there is no snapshot \(key) in \(snapshots)") }
                return key
            }
        }

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Write the collections' current documents to a new snapshot; prints its info.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var folder: Folder
            @Argument(help: "The store id (1–128 bytes of letters, digits, '.', '_', '-').") var storeId: String
            @Argument(help: "The collections.") var collections: [String]

            func run() async throws {
                let info = try await DocumentsCommand.withCollections(global, collections) { opened in
                    try await folder.folder.create(storeId: storeId, collections: opened)
                }
                DocumentsCommand.print(info.json)
                StandardOutput.stdout.flush()
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Print a store id's snapshots, newest first.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var folder: Folder
            @Argument(help: "The store id.") var storeId: String
            @Option(help: ArgumentHelp("Print at most N.", valueName: "N")) var limit: Int?

            func run() async throws {
                for entry in try folder.folder.list(storeId: storeId, limit: limit) { DocumentsCommand.print(entry.json) }
                StandardOutput.stdout.flush()
            }
        }

        struct Read: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Print a snapshot: its info and its data (collection → key → document).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var folder: Folder
            @Argument(help: "The snapshot's key (snapshots/<storeId>/<name>.json).") var key: String

            func run() async throws {
                let key = try folder.existing(key)
                var answer = try folder.folder.info(key).json
                answer["data"] = .object(try folder.folder.read(key).mapValues { .object($0) })
                DocumentsCommand.print(answer)
                StandardOutput.stdout.flush()
            }
        }

        struct RestoreSnapshot: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "restore", abstract: "Make every collection of a snapshot hold exactly its documents, in one atomic append.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var folder: Folder
            @Argument(help: "The snapshot's key.") var key: String
            @Flag(help: "Record each write of the restore as a change in cdc-COLLECTION.")
            var cdc = false

            func run() async throws {
                let key = try folder.existing(key)
                let snapshots = folder.folder
                let names = try snapshots.info(key).collections
                let report = try await DocumentsCommand.withCollections(global, names) { opened in
                    cdc ? try await snapshots.restore(key, into: opened.map { CDCCollection($0, options: DocumentsCommand.cdcOptions) })
                        : try await snapshots.restore(key, into: opened)
                }
                DocumentsCommand.print(report.json)
                StandardOutput.stdout.flush()
            }
        }

        struct DeleteSnapshot: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a snapshot file; prints {\"deleted\": KEY}.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var folder: Folder
            @Argument(help: "The snapshot's key.") var key: String

            func run() async throws {
                try folder.folder.delete(try folder.existing(key))
                DocumentsCommand.print(["deleted": .string(key)])
                StandardOutput.stdout.flush()
            }
        }
    }
}
