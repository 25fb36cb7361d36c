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
        .library(name: "StrataPostgres", targets: ["StrataPostgres"]),
        .executable(name: "strata", targets: ["StrataCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
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
        .target(name: "StrataConformance", dependencies: ["Strata"], swiftSettings: strictness),
        // The benchmark workloads behind `strata bench`.
        .target(name: "StrataBench", dependencies: ["Strata", "StrataLog", "StrataPostgres", "CSQLite",
                                                    .product(name: "PostgresNIO", package: "postgres-nio")],
                swiftSettings: strictness),
        // The command-line tool.
        .executableTarget(
            name: "StrataCLI",
            dependencies: [
                "Strata", "StrataLog", "StrataPostgres", "StrataBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictness
        ),
        // A child process for the crash, multi-process and follow tests of StrataLog.
        .executableTarget(name: "StrataTestWriter", dependencies: ["Strata", "StrataLog"], swiftSettings: strictness),
        // A child process for the multi-process tests of StrataPostgres.
        .executableTarget(name: "StrataPostgresTestWriter", dependencies: ["Strata", "StrataPostgres"], swiftSettings: strictness),
        .testTarget(name: "StrataTests", dependencies: ["Strata", "StrataConformance"], swiftSettings: strictness),
        .testTarget(name: "StrataLogTests", dependencies: ["Strata", "StrataLog", "StrataConformance", "StrataTestWriter"], swiftSettings: strictness),
        .testTarget(
            name: "StrataPostgresTests",
            dependencies: ["Strata", "StrataPostgres", "StrataConformance", "StrataConsumers", "StrataPostgresTestWriter",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: strictness
        ),
        .testTarget(name: "StrataCLITests", dependencies: ["Strata", "StrataLog"], swiftSettings: strictness),
    ]
)
