import ArgumentParser
import Strata

/// Parses `--expected-revision N|any|no-stream|exists`.
func parseExpectedRevision(_ text: String) throws -> ExpectedRevision {
    guard let value = ExpectedRevision(parsing: text) else {
        throw ValidationError("--expected-revision must be a revision number, any, no-stream or exists, not \"\(text)\"")
    }
    return value
}
