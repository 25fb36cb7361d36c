import Foundation
import Testing

/// Where tests keep files for people to look at after a run (screenshots, a browser's log):
/// `$STRATA_TEST_ARTIFACTS/<name>/` when that variable is set, else
/// `.build/test-artifacts/<name>/` of this package (git-ignored with the rest of `.build`).
/// scripts/test.sh prints the place.
enum TestArtifacts {
    /// The package's root: three levels above this file (Tests/StrataServerTests/…).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The folder of one test's artifacts (not created).
    static func directory(_ name: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        let root = environment["STRATA_TEST_ARTIFACTS"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0, isDirectory: true) }
            ?? packageRoot.appendingPathComponent(".build/test-artifacts", isDirectory: true)
        return root.appendingPathComponent(name, isDirectory: true)
    }

    /// The folder of one test's artifacts, emptied of what an earlier run left (so every file in
    /// it is this run's) and created.
    static func fresh(_ name: String) throws -> URL {
        let folder = directory(name)
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }
}

@Suite("Test artifacts")
struct TestArtifactsTests {
    @Test("artifacts go under STRATA_TEST_ARTIFACTS when it is set, else under .build/test-artifacts of the package")
    func directory() {
        #expect(TestArtifacts.directory("admin-page", environment: ["STRATA_TEST_ARTIFACTS": "/tmp/ci-artifacts"]).path
                == "/tmp/ci-artifacts/admin-page")
        let fallback = TestArtifacts.directory("admin-page", environment: [:])
        #expect(fallback.path.hasSuffix("/.build/test-artifacts/admin-page"))
        #expect(FileManager.default.fileExists(atPath: fallback.deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Package.swift").path))
        #expect(TestArtifacts.directory("admin-page", environment: ["STRATA_TEST_ARTIFACTS": ""]) == fallback)
    }
}
