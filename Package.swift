// swift-tools-version:6.0
import PackageDescription

let strictness: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Strata",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Strata", targets: ["Strata"]),
        .library(name: "StrataLog", targets: ["StrataLog"]),
        .library(name: "StrataStorage", targets: ["StrataStorage"]),
        .library(name: "StrataConformance", targets: ["StrataConformance"]),
        .library(name: "StrataConsumers", targets: ["StrataConsumers"]),
        .library(name: "StrataModel", targets: ["StrataModel"]),
        .library(name: "StrataSQLite", targets: ["StrataSQLite"]),
        .library(name: "StrataSchema", targets: ["StrataSchema"]),
        .executable(name: "strata-codegen", targets: ["StrataCodegen"]),
        .plugin(name: "StrataCodegenPlugin", targets: ["StrataCodegenPlugin"]),
        .library(name: "StrataJSON", targets: ["StrataJSON"]),
        .library(name: "StrataJSONShapes", targets: ["StrataJSONShapes"]),
        .library(name: "StrataServer", targets: ["StrataServer"]),
        .library(name: "StrataClient", targets: ["StrataClient"]),
        .library(name: "StrataDocuments", targets: ["StrataDocuments"]),
        .library(name: "StrataPostgres", targets: ["StrataPostgres"]),
        .library(name: "StrataEmitter", targets: ["StrataEmitter"]),
        .library(name: "StrataLakehouse", targets: ["StrataLakehouse"]),
        .executable(name: "strata", targets: ["StrataCLI"]),
        .executable(name: "strata-bench", targets: ["StrataBenchCLI"]),
        .library(name: "StrataStores", targets: ["StrataStores"]),
        .library(name: "StrataNATS", targets: ["StrataNATS"]),
        .library(name: "StrataJetStream", targets: ["StrataJetStream"]),
        .library(name: "StrataMigration", targets: ["StrataMigration"]),
        .library(name: "StrataTracing", targets: ["StrataTracing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", exact: "2.8.1"),
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", exact: "1.7.3"),
        .package(url: "https://github.com/grpc/grpc-swift-2", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", exact: "2.9.2"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
    ],
    targets: [
        // The vocabulary, the EventStore contract and the in-memory reference store.
        .target(name: "Strata", dependencies: ["StrataStorage", "StrataJSON"], swiftSettings: strictness),
        // Hardware CRC32C (SSE4.2) with a portable fallback selected at run time.
        .target(name: "CStrataCRC"),
        // System zlib, for gzip-compressed sealed segments.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // System SQLite: the SQLite backend and the benchmark's raw baseline.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // The storage seam: file operations behind one protocol; POSIX and a simulated disk for fault tests.
        .target(name: "StrataStorage", swiftSettings: strictness),
        // The embedded log engine: the default backend.
        .target(name: "StrataLog", dependencies: ["Strata", "StrataStorage", "CStrataCRC", "CZlib", .product(name: "Logging", package: "swift-log"),
                                                   .product(name: "CoreMetrics", package: "swift-metrics")], swiftSettings: strictness),
        // Checkpointed consumers, projectors' engine: checkpoint stores, parking, groups.
        .target(name: "StrataConsumers", dependencies: ["Strata", "StrataJSON", .product(name: "Logging", package: "swift-log"),
                                                         .product(name: "CoreMetrics", package: "swift-metrics")], swiftSettings: strictness),
        // Typed events, upcasters, reducers, aggregates, snapshots, relations, projectors.
        .target(name: "StrataModel", dependencies: ["Strata", "StrataStorage", "StrataConsumers", "StrataJSON"], swiftSettings: strictness),
        // The SQLite backend: one database file, group commit, several processes, transactional checkpoints.
        .target(name: "StrataSQLite", dependencies: ["Strata", "StrataStorage", "StrataConsumers", "CSQLite"], swiftSettings: strictness),
        // Event schemas: config loading, validation at append, Swift code generation.
        .target(name: "StrataSchema", dependencies: ["Strata", "StrataJSON"], swiftSettings: strictness),
        // The code generator alone, for the build-tool plugin (which must not need the whole CLI).
        .executableTarget(name: "StrataCodegen", dependencies: ["StrataSchema"], swiftSettings: strictness),
        // Generates Swift from a target's events/ folder at build time.
        .plugin(name: "StrataCodegenPlugin", capability: .buildTool(), dependencies: ["StrataCodegen"]),
        // Fast JSON coding of Codable payloads (Foundation only, no Strata dependency).
        .target(name: "StrataJSON", swiftSettings: strictness),
        // The event-sourced document database: collections, queries, indexes, subscriptions.
        .target(name: "StrataDocuments", dependencies: ["Strata", "StrataJSON", "StrataJSONShapes", "StrataConsumers", .product(name: "Logging", package: "swift-log"),
                                                         .product(name: "CoreMetrics", package: "swift-metrics"),
                                                         .product(name: "Tracing", package: "swift-distributed-tracing")], swiftSettings: strictness),
        // The PostgreSQL backend: gap-free `$all` through a commit-ordered position counter.
        .target(
            name: "StrataPostgres",
            dependencies: [
                "Strata", "StrataConsumers",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness
        ),
        // The backend conformance suite, run by every backend's tests.
        .target(name: "StrataConformance", dependencies: ["Strata", "StrataStorage"], swiftSettings: strictness),
        // The JSON wire shape of events shared by the CLI, the server and the client.
        .target(name: "StrataJSONShapes", dependencies: ["Strata", "StrataJSON"], swiftSettings: strictness),
        // Tracing: spans around a store's operations (a decorator) and an OTLP/HTTP (JSON) exporter.
        .target(
            name: "StrataTracing",
            dependencies: [
                "Strata", "StrataJSON",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictness
        ),
        // The HTTP server over any EventStore: REST, SSE, WebSocket, ingest, auth, metrics, admin page.
        .target(
            name: "StrataServer",
            dependencies: [
                "Strata", "StrataJSON", "StrataJSONShapes", "StrataConsumers", "StrataDocuments", "StrataTracing",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
            ],
            resources: [.copy("Resources/openapi.yaml"), .copy("Resources/admin")],
            swiftSettings: strictness
        ),
        // An EventStore that talks to a Strata server over HTTP.
        .target(
            name: "StrataClient",
            dependencies: ["Strata", "StrataJSON", "StrataJSONShapes", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            swiftSettings: strictness
        ),
        // The lakehouse: time-partitioned JSON Lines export (local or S3), import, DuckDB query builders.
        .target(
            name: "StrataLakehouse",
            dependencies: [
                "Strata", "StrataJSON", "StrataConsumers", "StrataJSONShapes", "CZlib",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strictness
        ),
        // The benchmark workloads behind `strata-bench` (and so `strata bench`).
        .target(name: "StrataBench", dependencies: ["Strata", "StrataStorage", "StrataLog", "StrataModel", "StrataSQLite", "StrataJSON", "StrataDocuments",
                                                    "StrataPostgres", "StrataEmitter", "StrataServer", "StrataConsumers", "StrataLakehouse",
                                                    .product(name: "Logging", package: "swift-log"),
                                                    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"), .product(name: "PostgresNIO", package: "postgres-nio"),
                                                    "StrataJetStream", "StrataNATS"],
                swiftSettings: strictness),
        // Store URLs: one registry turning file:, sqlite:, memory:, postgres://, nats:// and
        // http(s):// into stores, for the CLI, the server and the bench.
        .target(
            name: "StrataStores",
            dependencies: ["Strata", "StrataLog", "StrataConsumers", "StrataSQLite", "StrataPostgres", "StrataJetStream", "StrataNATS", "StrataClient",
                           .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "Logging", package: "swift-log"),
                           .product(name: "CoreMetrics", package: "swift-metrics")]
        ),
        // Importers of the seed packages' stored data (docs/MIGRATING.md).
        .target(name: "StrataMigration", dependencies: ["Strata", "StrataJSON", "StrataLakehouse", "StrataNATS", .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: strictness),
        // What the `strata` and `strata-bench` executables share: store URLs, buffered output,
        // command failures and exit statuses, the root command runner.
        .target(
            name: "StrataCommandLine",
            dependencies: ["Strata", "StrataStores", "StrataSchema",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictness
        ),
        // The command-line tool. `strata bench` and `strata bench-http` exec `strata-bench`.
        .executableTarget(
            name: "StrataCLI",
            dependencies: [
                "Strata", "StrataJSON", "StrataLog", "StrataConsumers", "StrataSQLite", "StrataPostgres", "StrataSchema", "StrataJSONShapes", "StrataServer",
                "StrataLakehouse", "StrataCommandLine", "StrataTracing", "StrataMigration", "StrataDocuments", "StrataNATS", "StrataStores", "StrataKurrent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness
        ),
        // `strata-bench`: the benchmark harness's command line (`strata bench` runs it).
        .executableTarget(
            name: "StrataBenchCLI",
            dependencies: [
                "StrataKurrent", .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                "Strata", "StrataJSON", "StrataBench", "StrataCommandLine", "StrataPostgres", "StrataServer", "StrataJSONShapes",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictness
        ),
        // The runnable example of README's "Modeling" section: aggregates, a projector, consumers.
        .executableTarget(
            name: "AccountsExample", dependencies: ["Strata", "StrataLog", "StrataModel", "StrataConsumers"],
            path: "Examples/Accounts", swiftSettings: strictness
        ),
        // What every test target shares: child processes, temporary directories, bounded waits,
        // built executables, the test child's lines, plain HTTP and SSE reading, `strata serve`
        // instances and the many-instance load. Not a product.
        .target(name: "StrataTestSupport",
                dependencies: ["Strata", "StrataStorage", "StrataConsumers", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                               .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio")],
                swiftSettings: strictness),
        // The one child process of the multi-process, kill and restart tests: --store URL, a
        // workload, one line per observable step.
        .executableTarget(name: "StrataTestChild", dependencies: ["Strata", "StrataStores", "StrataConsumers", "StrataEmitter", "StrataSQLite", "StrataPostgres", "StrataJetStream", "StrataTestSupport"],
                          swiftSettings: strictness),
        .testTarget(name: "StrataTests", dependencies: ["Strata", "StrataJSON", "StrataConformance", "StrataTestSupport"], swiftSettings: strictness),
        .testTarget(name: "StrataLogTests", dependencies: ["Strata", "StrataLog", "StrataStorage", "StrataConsumers", "StrataConformance", "StrataTestSupport", .product(name: "Logging", package: "swift-log"), .product(name: "InMemoryLogging", package: "swift-log"),
                                                           .product(name: "MetricsTestKit", package: "swift-metrics")], swiftSettings: strictness),
        .testTarget(name: "StrataModelTests", dependencies: ["Strata", "StrataTestSupport", "StrataLog", "StrataModel", "StrataConsumers"], swiftSettings: strictness),
        .testTarget(name: "StrataDocumentsTests", dependencies: ["Strata", "StrataTestSupport", "StrataLog", "StrataConsumers", "StrataConformance", "StrataDocuments", "StrataSQLite",
                                                          .product(name: "Logging", package: "swift-log"), .product(name: "InMemoryLogging", package: "swift-log"),
                           .product(name: "MetricsTestKit", package: "swift-metrics")],
                    swiftSettings: strictness),
        .testTarget(name: "StrataConsumersTests", dependencies: ["Strata", "StrataTestSupport", "StrataConsumers"], swiftSettings: strictness),
        .testTarget(name: "StrataSQLiteTests",
                    dependencies: ["Strata", "StrataSQLite", "StrataConsumers", "StrataConformance", "StrataTestSupport", "CSQLite"],
                    swiftSettings: strictness),
        .testTarget(name: "StrataSchemaTests", dependencies: ["Strata", "StrataTestSupport", "StrataSchema"], exclude: ["Fixtures"], swiftSettings: strictness),
        .testTarget(name: "StrataJSONTests", dependencies: ["StrataJSON", "Strata", "StrataConformance"], swiftSettings: strictness),
        .testTarget(
            name: "StrataServerTests",
            dependencies: ["Strata", "StrataLog", "StrataConformance", "StrataServer", "StrataConsumers", "StrataTestSupport", "StrataClient", "StrataJSONShapes", "StrataTracing",
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                           .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                           .product(name: "NIOSSL", package: "swift-nio-ssl")],
            swiftSettings: strictness
        ),
        .testTarget(
            name: "StrataPostgresTests",
            dependencies: ["Strata", "StrataPostgres", "StrataConformance", "StrataConsumers", "StrataDocuments", "StrataTestSupport", "StrataStores",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: strictness
        ),
        // The durable emitter: a local outbox in a Strata store and a shipper that POSTs batches.
        .target(
            name: "StrataEmitter",
            dependencies: ["Strata", "StrataJSON", "StrataConsumers", "StrataJSONShapes",
                           .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "Logging", package: "swift-log"),
                           .product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: strictness
        ),
        .testTarget(
            name: "StrataEmitterTests",
            dependencies: ["Strata", "StrataLog", "StrataConsumers", "StrataEmitter", "StrataServer", "StrataJSONShapes", "StrataTestSupport",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "Logging", package: "swift-log"), .product(name: "InMemoryLogging", package: "swift-log")],
            swiftSettings: strictness
        ),
        // A focused NATS client on SwiftNIO: core protocol, request/reply, reconnect, JetStream,
        // NKEY and JWT (credentials file) authentication.
        .target(
            name: "StrataNATS",
            dependencies: [
                "StrataJSON",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness
        ),
        // The JetStream backend: one JetStream stream per store, one message per commit.
        // KurrentDB's gRPC client protocol (issue 21): generated messages and services
        // (scripts/generate-grpc.sh from Protos/kurrentdb), served over Strata's stores.
        .target(name: "StrataKurrent",
                dependencies: ["Strata", "StrataConsumers", "StrataServer", "StrataJSON",
                               .product(name: "GRPCCore", package: "grpc-swift-2"),
                               .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                               .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                               .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                               .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                               .product(name: "Logging", package: "swift-log")],
                swiftSettings: strictness),
        .testTarget(name: "StrataKurrentTests", dependencies: ["Strata", "StrataKurrent", "StrataServer", "StrataTestSupport",
                                                               .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                                                               .product(name: "GRPCCore", package: "grpc-swift-2"),
                                                               .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport")],
                    swiftSettings: strictness),
        .target(name: "StrataJetStream", dependencies: ["Strata", "StrataJSON", "StrataNATS", "StrataConsumers"], swiftSettings: strictness),
        .testTarget(name: "StrataJetStreamTests",
                    dependencies: ["Strata", "StrataNATS", "StrataJetStream", "StrataConformance", "StrataTestSupport", "StrataDocuments", "StrataStores", "StrataMigration", "StrataConsumers",
                                   .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "Crypto", package: "swift-crypto"),
                                   .product(name: "Logging", package: "swift-log"), .product(name: "InMemoryLogging", package: "swift-log")],
                    swiftSettings: strictness),
        .testTarget(name: "StrataStoresTests", dependencies: ["Strata", "StrataTestSupport", "StrataLog", "StrataNATS", "StrataJetStream", "StrataStores",
                                                       "StrataConsumers", "StrataSQLite", "StrataPostgres"], swiftSettings: strictness),
        .testTarget(name: "StrataCLITests", dependencies: ["Strata", "StrataTestSupport", "StrataLog", "StrataConsumers"], swiftSettings: strictness),
        .testTarget(name: "StrataMigrationTests", dependencies: ["Strata", "StrataMigration", "StrataTestSupport"], swiftSettings: strictness),
        .testTarget(name: "StrataTestSupportTests", dependencies: ["StrataTestSupport"], swiftSettings: strictness),
        .testTarget(name: "StrataTracingTests",
                    dependencies: ["Strata", "StrataJSON", "StrataTracing", "StrataDocuments", "StrataLog", "StrataTestSupport",
                                   .product(name: "Tracing", package: "swift-distributed-tracing"),
                                   .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                                   .product(name: "Hummingbird", package: "hummingbird"),
                                   .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                   .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                   .product(name: "Logging", package: "swift-log")],
                    swiftSettings: strictness),
        .testTarget(name: "StrataLakehouseTests", dependencies: ["Strata", "StrataStorage", "StrataJSON", "StrataTestSupport", "StrataLog", "StrataConsumers", "StrataLakehouse", .product(name: "MetricsTestKit", package: "swift-metrics")], swiftSettings: strictness),
    ]
)
