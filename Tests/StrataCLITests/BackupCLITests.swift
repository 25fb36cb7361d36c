import Foundation
import StrataTestSupport
import Testing

@Suite("strata backup and restore")
struct BackupCLITests {
    @Test("backup, verify on the backup, restore: read $all prints the same lines; an incomplete backup is refused")
    func roundTrip() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for n in 1...5 {
            let appended = try await CLIProcess.run(["append", "order-\(n % 2)", "--store", dir.store, "--type", "placed", "--data", #"{"n":\#(n)}"#], in: dir.url)
            #expect(appended.status == 0, "\(appended)")
        }
        let backupPath = dir.url.appendingPathComponent("backup").path
        let backup = try await CLIProcess.run(["backup", "--store", dir.store, "--to", backupPath], in: dir.url)
        #expect(backup.status == 0 && backup.stdout.contains("head position 5"), "\(backup)")
        let verify = try await CLIProcess.run(["verify", "--store", "file:" + backupPath], in: dir.url)
        #expect(verify.status == 0 && verify.stdout.contains("backup: complete, head position 5"), "\(verify)")

        let restoredPath = dir.url.appendingPathComponent("restored").path
        let restore = try await CLIProcess.run(["restore", backupPath, "--to", restoredPath], in: dir.url)
        #expect(restore.status == 0, "\(restore)")
        let original = try await CLIProcess.run(["read", "$all", "--store", dir.store], in: dir.url)
        let copy = try await CLIProcess.run(["read", "$all", "--store", "file:" + restoredPath], in: dir.url)
        #expect(original.lines.count == 5 && copy.lines == original.lines)

        try FileManager.default.removeItem(atPath: backupPath + "/BACKUP")
        let refused = try await CLIProcess.run(["restore", backupPath, "--to", dir.url.appendingPathComponent("again").path], in: dir.url)
        #expect(refused.status == 2 && refused.stderr.contains("not a complete backup"), "\(refused)")
        let notFile = try await CLIProcess.run(["backup", "--store", "memory:", "--to", backupPath], in: dir.url)
        #expect(notFile.status == 2, "\(notFile)")
    }
}
