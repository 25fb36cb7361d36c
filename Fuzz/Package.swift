// swift-tools-version:6.0
// libFuzzer targets for every decoder of Strata that meets disk or network bytes.
// Built only by scripts/fuzz.sh (docs/FUZZING.md): the sanitizer flags come from its command line,
// so this package never builds as part of the normal build or tests.
import Foundation
import PackageDescription

// The root package's identity is its folder's name (wt-fuzz, strata, a CI clone's folder…).
let root = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent

let support: Target.Dependency = "FuzzSupport"
let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
    ("FuzzRecord", [.product(name: "StrataLog", package: root)]),
    ("FuzzSegment", [.product(name: "StrataLog", package: root), .product(name: "Strata", package: root)]),
    ("FuzzIndexCheckpoint", [.product(name: "StrataLog", package: root), .product(name: "Strata", package: root)]),
    ("FuzzHead", [.product(name: "StrataLog", package: root), .product(name: "Strata", package: root)]),
    ("FuzzJSON", [.product(name: "Strata", package: root), .product(name: "StrataJSON", package: root),
                  .product(name: "StrataDocuments", package: root)]),
    ("FuzzDocumentFilter", [.product(name: "Strata", package: root), .product(name: "StrataDocuments", package: root)]),
    ("FuzzRequestBodies", [.product(name: "StrataDocuments", package: root), .product(name: "Strata", package: root), .product(name: "StrataServer", package: root),
                           .product(name: "StrataJSONShapes", package: root)]),
    ("FuzzIngest", [.product(name: "Strata", package: root), .product(name: "StrataServer", package: root),
                    .product(name: "StrataJSONShapes", package: root), .product(name: "StrataJSON", package: root)]),
    ("FuzzNATSParser", [.product(name: "StrataNATS", package: root), .product(name: "NIOCore", package: "swift-nio")]),
    ("FuzzConfig", [.product(name: "Strata", package: root), .product(name: "StrataSchema", package: root),
                    .product(name: "StrataServer", package: root)]),
]

let package = Package(
    name: "StrataFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: ".."), .package(url: "https://github.com/apple/swift-nio", from: "2.101.3")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "Strata", package: root), .product(name: "StrataLog", package: root)]),
    ] + fuzzTargets.map { target in
        .executableTarget(name: target.name, dependencies: [support] + target.dependencies, path: "Sources/\(target.name)")
    },
    // Harness code: single-threaded per process, so Swift 5 mode spares it concurrency ceremony.
    swiftLanguageModes: [.v5]
)
