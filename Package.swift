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
        .library(name: "StrataConformance", targets: ["StrataConformance"]),
        .library(name: "StrataConsumers", targets: ["StrataConsumers"]),
        .library(name: "StrataModel", targets: ["StrataModel"]),
        .library(name: "StrataDocuments", targets: ["StrataDocuments"]),
        .executable(name: "strata", targets: ["StrataCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // The vocabulary, the EventStore contract and the in-memory reference store.
        .target(name: "Strata", swiftSettings: strictness),
        // Hardware CRC32C (SSE4.2) with a portable fallback selected at run time.
        .target(name: "CStrataCRC"),
        // System zlib, for gzip-compressed sealed segments.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // System SQLite, used only as the benchmark's baseline.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // The embedded log engine: the default backend.
        .target(name: "StrataLog", dependencies: ["Strata", "CStrataCRC", "CZlib"], swiftSettings: strictness),
        // Checkpointed consumers, projectors' engine: checkpoint stores, parking, groups.
        .target(name: "StrataConsumers", dependencies: ["Strata"], swiftSettings: strictness),
        // Typed events, upcasters, reducers, aggregates, snapshots, relations, projectors.
        .target(name: "StrataModel", dependencies: ["Strata", "StrataConsumers"], swiftSettings: strictness),
        // The event-sourced document database: collections, queries, indexes, subscriptions.
        .target(name: "StrataDocuments", dependencies: ["Strata", "StrataConsumers"], swiftSettings: strictness),
        // The backend conformance suite, run by every backend's tests.
        .target(name: "StrataConformance", dependencies: ["Strata"], swiftSettings: strictness),
        // The benchmark workloads behind `strata bench`.
        .target(name: "StrataBench", dependencies: ["Strata", "StrataLog", "StrataModel", "StrataDocuments", "CSQLite"], swiftSettings: strictness),
        // The command-line tool.
        .executableTarget(
            name: "StrataCLI",
            dependencies: [
                "Strata", "StrataLog", "StrataConsumers", "StrataBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictness
        ),
        // The runnable example of README's "Modeling" section: aggregates, a projector, consumers.
        .executableTarget(
            name: "AccountsExample", dependencies: ["Strata", "StrataLog", "StrataModel", "StrataConsumers"],
            path: "Examples/Accounts", swiftSettings: strictness
        ),
        // A child process for the crash, multi-process and follow tests of StrataLog.
        .executableTarget(name: "StrataTestWriter", dependencies: ["Strata", "StrataLog", "StrataConsumers"], swiftSettings: strictness),
        .testTarget(name: "StrataTests", dependencies: ["Strata", "StrataConformance"], swiftSettings: strictness),
        .testTarget(name: "StrataLogTests", dependencies: ["Strata", "StrataLog", "StrataConsumers", "StrataConformance", "StrataTestWriter"], swiftSettings: strictness),
        .testTarget(name: "StrataModelTests", dependencies: ["Strata", "StrataLog", "StrataModel", "StrataConsumers"], swiftSettings: strictness),
        .testTarget(name: "StrataDocumentsTests", dependencies: ["Strata", "StrataLog", "StrataConsumers", "StrataConformance", "StrataDocuments"], swiftSettings: strictness),
        .testTarget(name: "StrataConsumersTests", dependencies: ["Strata", "StrataConsumers"], swiftSettings: strictness),
        .testTarget(name: "StrataCLITests", dependencies: ["Strata", "StrataLog", "StrataConsumers"], swiftSettings: strictness),
    ]
)
