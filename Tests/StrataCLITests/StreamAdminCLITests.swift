import Foundation
import StrataTestSupport
import Testing

@Suite("strata delete and metadata")
struct StreamAdminCLITests {
    @Test("metadata sets and prints fields and reads honour them; delete soft lets the stream go on, --tombstone ends it; a wrong expected revision exits 3")
    func deleteAndMetadata() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for n in 1...5 {
            #expect(try await CLIProcess.run(["append", "s", "--store", dir.store, "--type", "t", "--data", #"{"n":\#(n)}"#], in: dir.url).status == 0)
        }
        let set = try await CLIProcess.run(["metadata", "s", "--store", dir.store, "--max-count", "2", "--custom", #"{"owner":"ops"}"#], in: dir.url)
        #expect(set.status == 0 && set.lines == [#"{"maxCount":2,"custom":{"owner":"ops"}}"#], "\(set)")
        let shown = try await CLIProcess.run(["metadata", "s", "--store", dir.store], in: dir.url)
        #expect(shown.lines == set.lines, "\(shown)")
        let read = try await CLIProcess.run(["read", "s", "--store", dir.store], in: dir.url)
        #expect(read.lines.count == 2, "maxCount 2 hides the older events: \(read)")
        let cleared = try await CLIProcess.run(["metadata", "s", "--store", dir.store, "--clear", "--truncate-before", "4"], in: dir.url)
        #expect(cleared.lines == [#"{"truncateBefore":4}"#], "\(cleared)")
        #expect(try await CLIProcess.run(["metadata", "s", "--store", dir.store, "--max-count", "0"], in: dir.url).status == 2)

        let conflict = try await CLIProcess.run(["delete", "s", "--store", dir.store, "--expected-revision", "3"], in: dir.url)
        #expect(conflict.status == 3, "\(conflict)")
        let soft = try await CLIProcess.run(["delete", "s", "--store", dir.store, "--expected-revision", "5"], in: dir.url)
        #expect(soft.status == 0 && soft.lines == [#"{"stream":"s","mode":"soft"}"#], "\(soft)")
        let after = try await CLIProcess.run(["append", "s", "--store", dir.store, "--type", "t", "--data", "{}"], in: dir.url)
        #expect(after.status == 0 && after.stdout.contains(#""firstRevision":6"#), "a soft-deleted stream goes on: \(after)")
        let tomb = try await CLIProcess.run(["delete", "s", "--store", dir.store, "--tombstone"], in: dir.url)
        #expect(tomb.status == 0 && tomb.lines == [#"{"stream":"s","mode":"tombstone"}"#], "\(tomb)")
        let refused = try await CLIProcess.run(["append", "s", "--store", dir.store, "--type", "t", "--data", "{}"], in: dir.url)
        #expect(refused.status != 0, "a tombstoned stream took an append: \(refused)")
    }

    @Test("scavenge prints its report and $all loses the tombstoned stream's events; erase prints its report, refuses a $ stream with exit 2, and the audit event is in $erasures")
    func scavengeAndErase() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for stream in ["keep", "gone", "gone", "person-3"] {
            #expect(try await CLIProcess.run(["append", stream, "--store", dir.store, "--type", "t", "--data", "{}"], in: dir.url).status == 0)
        }
        #expect(try await CLIProcess.run(["delete", "gone", "--store", dir.store, "--tombstone"], in: dir.url).status == 0)
        let scavenged = try await CLIProcess.run(["scavenge", "--store", dir.store], in: dir.url)
        #expect(scavenged.status == 0 && scavenged.stdout.contains(#"{"eventsRemoved":2,"#), "\(scavenged)")
        let erased = try await CLIProcess.run(["erase", "person-3", "--reason", "ticket 3", "--store", dir.store], in: dir.url)
        #expect(erased.status == 0 && erased.lines == [#"{"stream":"person-3","eventsErased":1,"auditPosition":5}"#], "\(erased)")
        let refused = try await CLIProcess.run(["erase", "$erasures", "--store", dir.store], in: dir.url)
        #expect(refused.status == 2, "\(refused)")
        let audit = try await CLIProcess.run(["read", "$erasures", "--store", dir.store], in: dir.url)
        #expect(audit.status == 0 && audit.stdout.contains("ticket 3"), "\(audit)")
        let all = try await CLIProcess.run(["read", "$all", "--store", dir.store], in: dir.url)
        #expect(all.lines.count == 2, "keep and the audit event: \(all)")
    }
}
