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
        .library(name: "StrataJSON", targets: ["StrataJSON"]),
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
        // Fast JSON coding of Codable payloads (Foundation only, no Strata dependency).
        .target(name: "StrataJSON", swiftSettings: strictness),
        // The backend conformance suite, run by every backend's tests.
        .target(name: "StrataConformance", dependencies: ["Strata"], swiftSettings: strictness),
        // The benchmark workloads behind `strata bench`.
        .target(name: "StrataBench", dependencies: ["Strata", "StrataLog", "StrataJSON", "CSQLite"], swiftSettings: strictness),
        // The command-line tool.
        .executableTarget(
            name: "StrataCLI",
            dependencies: [
                "Strata", "StrataLog", "StrataBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictness
        ),
        // A child process for the crash, multi-process and follow tests of StrataLog.
        .executableTarget(name: "StrataTestWriter", dependencies: ["Strata", "StrataLog"], swiftSettings: strictness),
        .testTarget(name: "StrataTests", dependencies: ["Strata", "StrataConformance"], swiftSettings: strictness),
        .testTarget(name: "StrataLogTests", dependencies: ["Strata", "StrataLog", "StrataConformance", "StrataTestWriter"], swiftSettings: strictness),
        .testTarget(name: "StrataJSONTests", dependencies: ["StrataJSON", "Strata", "StrataConformance"], swiftSettings: strictness),
        .testTarget(name: "StrataCLITests", dependencies: ["Strata", "StrataLog"], swiftSettings: strictness),
    ]
)
