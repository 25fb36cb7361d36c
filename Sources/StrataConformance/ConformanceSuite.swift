import Foundation
import Strata
import Testing

/// The `EventStore` contract as checks that every backend's tests run.
///
/// A backend's test target needs one file:
///
/// ```swift
/// import StrataConformance
/// import Testing
///
/// @Test(arguments: ConformanceSuite.checkNames)
/// func conformance(_ name: String) async throws {
///     try await ConformanceSuite.run(name, harness: MyHarness())
/// }
///
/// @Test(arguments: ConformanceSuite.propertySeeds)
/// func property(seed: UInt64) async throws {
///     try await ConformanceSuite.runPropertyTest(seed: seed, operations: ConformanceSuite.propertyOperations,
///                                                harness: MyHarness())
/// }
/// ```
public enum ConformanceSuite {
    /// Every check, grouped by the part of the contract it covers.
    public static let checks: [ConformanceCheck] =
        ValidationChecks.all
        + AppendChecks.all
        + IdempotencyChecks.all
        + MultiStreamChecks.all
        + ConditionChecks.all
        + ReadChecks.all
        + DeleteChecks.all
        + MetadataChecks.all
        + ListingChecks.all
        + SubscriptionChecks.all
        + ConcurrencyChecks.all
        + LifecycleChecks.all
        + MaintenanceChecks.all

    /// The names of every check, for `@Test(arguments:)`.
    public static var checkNames: [String] { checks.map(\.name) }

    private static let checksByName: [String: ConformanceCheck] = {
        var byName: [String: ConformanceCheck] = [:]
        for check in checks {
            precondition(byName[check.name] == nil, "two conformance checks are named \"\(check.name)\"")
            byName[check.name] = check
        }
        return byName
    }()

    /// Runs one check against a fresh store from `harness`, then closes the store and cleans up.
    public static func run(_ name: String, harness: some ConformanceHarness) async throws {
        guard let check = checksByName[name] else {
            Issue.record("no conformance check is named \"\(name)\"")
            return
        }
        let context = ConformanceContext(store: try await harness.makeStore(), harness: harness)
        do {
            try await check.body(context)
        } catch {
            await context.closeAll()
            await harness.cleanUp()
            throw error
        }
        await context.closeAll()
        await harness.cleanUp()
    }

    /// The property-test seeds: `STRATA_PROPERTY_SEEDS` when set — a comma-separated list of
    /// seeds (decimal or `0x` hex) and ranges `a...b` — otherwise 1...20.
    public static var propertySeeds: [UInt64] {
        guard let text = ProcessInfo.processInfo.environment["STRATA_PROPERTY_SEEDS"], !text.isEmpty else {
            return Array(1...20)
        }
        guard let seeds = parseSeeds(text) else {
            preconditionFailure("STRATA_PROPERTY_SEEDS=\(text): expected seeds and ranges like 7,0x1f,100...120")
        }
        return seeds
    }

    /// Operations per property-test seed: `STRATA_PROPERTY_OPS` when set, otherwise 1,000.
    public static var propertyOperations: Int {
        ProcessInfo.processInfo.environment["STRATA_PROPERTY_OPS"].flatMap { Int($0) } ?? 1_000
    }

    static func parseSeeds(_ text: String) -> [UInt64]? {
        func number(_ s: Substring) -> UInt64? {
            let s = s.trimmingCharacters(in: .whitespaces)
            if s.hasPrefix("0x") || s.hasPrefix("0X") { return UInt64(s.dropFirst(2), radix: 16) }
            return UInt64(s)
        }
        var seeds: [UInt64] = []
        for item in text.split(separator: ",") {
            if let range = item.range(of: "...") {
                guard let low = number(item[..<range.lowerBound]), let high = number(item[range.upperBound...]),
                      low <= high else { return nil }
                seeds.append(contentsOf: low...high)
            } else {
                guard let seed = number(item) else { return nil }
                seeds.append(seed)
            }
        }
        return seeds.isEmpty ? nil : seeds
    }
}
