import Strata
import Testing

@Suite("Naming")
struct NamingTests {
    private func streamNameError(_ name: String) -> StrataError? {
        do { try Naming.validateStreamName(name); return nil } catch { return error as? StrataError }
    }

    private func eventTypeError(_ type: String) -> StrataError? {
        do { try Naming.validateEventType(type); return nil } catch { return error as? StrataError }
    }

    private static let longestName = String(repeating: "é", count: 127) + "x"  // 255 bytes

    @Test("accepts ordinary stream names up to 255 UTF-8 bytes",
          arguments: ["a", "order-42", "a b", "ünï€😀", "x$", "nbsp\u{A0}", NamingTests.longestName, String(repeating: "s", count: 255)])
    func validStreamNames(_ name: String) throws {
        try Naming.validateStreamName(name)
        try Naming.validateReadableStreamName(name)
        try Naming.validateEventType(name)
    }

    @Test("rejects empty, too long and control-character stream names and event types", arguments: [
        "", String(repeating: "s", count: 256), String(repeating: "é", count: 128), "nul\u{0}", "tab\t", "line\n", "del\u{7F}",
        "c1\u{80}", "c1\u{85}", "c1\u{9F}",
    ])
    func invalidNames(_ name: String) {
        guard case .invalidStreamName(let reported, let reason)? = streamNameError(name) else {
            Issue.record("stream name \(name.debugDescription) was accepted")
            return
        }
        #expect(reported == name)
        #expect(!reason.isEmpty)
        guard case .invalidEventType(let type, _)? = eventTypeError(name) else {
            Issue.record("event type \(name.debugDescription) was accepted")
            return
        }
        #expect(type == name)
    }

    @Test("reserves $-names for the store: they can be read but not written")
    func reservedNames() throws {
        for name in ["$all", "$", "$custom"] {
            #expect(streamNameError(name) != nil, "\(name)")
            try Naming.validateReadableStreamName(name)
            try Naming.validateEventType(name)
        }
        #expect(Naming.allStream == "$all")
    }

    @Test("error messages name the problem")
    func messages() {
        #expect(streamNameError("")?.description.contains("empty") == true)
        #expect(streamNameError(String(repeating: "s", count: 300))?.description.contains("300") == true)
        #expect(streamNameError("$x")?.description.contains("reserved") == true)
        #expect(eventTypeError("a\u{1}")?.description.contains("control") == true)
    }
}
