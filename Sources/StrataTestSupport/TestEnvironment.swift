import Foundation

/// Settings tests read from the environment, such as soak-run sizes
/// (`STRATA_CRASH_ROUNDS=500 scripts/test.sh`).
public enum TestEnvironment {
    /// The integer value of the environment variable `name`, or `fallback` when it is unset or
    /// not an integer.
    public static func integer<T: FixedWidthInteger>(_ name: String, _ fallback: T) -> T {
        ProcessInfo.processInfo.environment[name].flatMap { T($0) } ?? fallback
    }
}
