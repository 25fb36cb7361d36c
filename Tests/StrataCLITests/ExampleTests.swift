import Foundation
import StrataTestSupport
import Testing

@Suite("Examples")
struct ExampleTests {
    @Test("the Accounts example runs: aggregate decisions, an atomic transfer, a projector, consumers and a replay")
    func accounts() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let run = try await CLIProcess.run([dir.url.appendingPathComponent("bank").path], in: dir.url, program: "AccountsExample")
        #expect(run.status == 0, "\(run)")
        #expect(run.lines == [
            "alan cannot withdraw 50: insufficient funds (balance 20)",
            "account-ada (Ada): 70",
            "account-alan (Alan): 50",
            "messages: welcome, Ada; welcome, Alan",
            "totals: deposited 150, withdrawn 30",
            "replay rebuilt the same balances: true; messages sent: 2",
        ])
    }
}
