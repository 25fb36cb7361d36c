import Foundation
import Strata
import Testing

/// Bad input gets a typed error and changes nothing already stored.
enum ValidationChecks {
    static let all: [ConformanceCheck] = [
        ConformanceCheck("appending an event with an empty type fails with invalidEventType and stores nothing", emptyType),
        ConformanceCheck("appending an event whose type is over 255 UTF-8 bytes fails with invalidEventType and stores nothing", longType),
        ConformanceCheck("appending an event whose type contains a control character fails with invalidEventType and stores nothing", controlType),
        ConformanceCheck("appending an event over the default 4 MiB limit fails with eventTooLarge and stores nothing", defaultSizeLimit),
        ConformanceCheck("appending an event over a configured size limit fails with eventTooLarge and stores nothing", configuredSizeLimit),
        ConformanceCheck("appending an event whose metadata is not a JSON object fails with invalidEvent and stores nothing", badMetadata),
        ConformanceCheck("appending an event whose metadata is not valid UTF-8 fails with invalidEvent and stores nothing", nonUTF8Metadata),
        ConformanceCheck("appending an event whose content type is over 255 bytes fails with invalidEvent and stores nothing", longContentType),
        ConformanceCheck("appending to an empty, too long, control-character or $-reserved stream name fails with invalidStreamName and stores nothing", badStreamNames),
        ConformanceCheck("an append with no streams, no events, a stream twice or an id twice fails with invalidAppend and stores nothing", malformedAppends),
        ConformanceCheck("names not in Unicode NFC are refused and stream prefixes compare bytes", unicodeNames),
    ]

    static func unicodeNames(_ c: ConformanceContext) async throws {
        let store = c.store
        let composed = "caf\u{E9}"        // NFC
        let decomposed = "cafe\u{301}"    // the same text, NFD: equal as Swift strings
        #expect(composed == decomposed)
        try await store.append(to: composed, event: sample())
        let before = try await store.headPosition()
        await expectThrows(.invalidStreamName, "an NFD stream name") {
            try await store.append(to: decomposed, events: [sample()])
        }
        await expectThrows(.invalidEventType, "an NFD event type") {
            try await store.append(to: "other", events: [EventData(type: decomposed, json: "{}")])
        }
        #expect(try await store.headPosition() == before)
        // Prefixes are bytes: "caf" is a byte prefix of "café" (NFC), "cafe" is not.
        #expect(try await store.listStreams(prefix: "caf").collect() == [composed])
        #expect(try await store.listStreams(prefix: "cafe").collect() == [])
        let byPrefix = try await store.readAll(filter: EventFilter(streamPrefixes: ["caf"])).collect()
        #expect(byPrefix.map(\.stream) == [composed])
    }

    /// Appends one good event elsewhere (so the head is not 0), then runs `bad` expecting
    /// `kind`, checking that neither the target stream nor the head changed.
    @discardableResult
    private static func rejects(_ store: any EventStore, _ kind: ErrorKind, _ what: String,
                                sourceLocation: SourceLocation = #_sourceLocation,
                                _ bad: [EventData], stream: String = "target-1") async throws -> StrataError? {
        if try await store.headPosition() == 0 { try await store.append(to: "bystander", event: sample()) }
        // A good event first: the bad one must take it down with it.
        let error = try await expectRejected(store, kind, streams: [stream, "bystander"], what, sourceLocation: sourceLocation) {
            try await store.append(to: stream, events: [sample("good")] + bad)
        }
        let info = try await store.streamInfo(stream)
        #expect(!info.exists && info.lastRevision == 0, "\(what): the stream was created", sourceLocation: sourceLocation)
        return error
    }

    static func emptyType(_ c: ConformanceContext) async throws {
        let event = EventData(type: "", json: "{}")
        let error = try await rejects(c.store, .invalidEventType, "empty type", [event])
        if case .invalidEventType(let type, _)? = error { #expect(type == "") }
    }

    static func longType(_ c: ConformanceContext) async throws {
        let euro255 = String(repeating: "€", count: 85)  // 3 bytes each: 255 bytes
        try await c.store.append(to: "fits", event: EventData(type: euro255, json: "{}"))
        #expect(try await readStream(c.store, "fits").first?.type == euro255)
        for type in [euro255 + "x", String(repeating: "t", count: 256), String(repeating: "€", count: 86)] {
            try await rejects(c.store, .invalidEventType, "type of \(type.utf8.count) bytes", [EventData(type: type, json: "{}")])
        }
    }

    static func controlType(_ c: ConformanceContext) async throws {
        for type in ["line\nbreak", "nul\u{0}", "tab\there", "del\u{7F}", "c1\u{85}next", "c1\u{9F}"] {
            try await rejects(c.store, .invalidEventType, "type \(type.debugDescription)", [EventData(type: type, json: "{}")])
        }
        // Non-control characters next to the C1 range are fine.
        try await c.store.append(to: "fine", event: EventData(type: "nbsp\u{A0}é-ł", json: "{}"))
    }

    /// An event of exactly `size` encoded bytes.
    private static func event(ofSize size: Int) -> EventData {
        let type = "blob", contentType = ContentType.binary
        let dataCount = size - type.utf8.count - contentType.rawValue.utf8.count
        return EventData(type: type, data: Data(repeating: 0x5A, count: dataCount), contentType: contentType)
    }

    private static func checkLimit(_ store: any EventStore, limit: Int) async throws {
        let fits = event(ofSize: limit)
        #expect(fits.encodedSize == limit)
        let result = try await store.append(to: "at-limit", event: fits)
        let stored = try await readStream(store, "at-limit")
        #expect(stored.count == 1 && stored.first?.data == fits.data && result.lastRevision == 1)

        let over = event(ofSize: limit + 1)
        let error = try await rejects(store, .eventTooLarge, "an event of \(limit + 1) bytes", [over])
        #expect(error == .eventTooLarge(id: over.id.uuidString, size: limit + 1, limit: limit))
    }

    static func defaultSizeLimit(_ c: ConformanceContext) async throws {
        try await checkLimit(c.store, limit: EventLimits.default.maxEventSize)
    }

    static func configuredSizeLimit(_ c: ConformanceContext) async throws {
        guard let store = try await c.makeStore(limits: EventLimits(maxEventSize: 1_000)) else { return }
        try await checkLimit(store, limit: 1_000)
    }

    static func badMetadata(_ c: ConformanceContext) async throws {
        let bad = ["[1]", #""text""#, "42", "null", "{", #"{"a"}"#, #"{"a":1,}"#, "{'a':1}", #"{"a":01}"#,
                   #"{"a":tru}"#, "{} {}", #"{"a":"\x"}"#, "{\"a\":\"raw\ncontrol\"}", #"{"a":"\u12G4"}"#, " "]
        for text in bad {
            let event = EventData(type: "noted", data: Data("{}".utf8), metadata: Data(text.utf8))
            let error = try await rejects(c.store, .invalidEvent, "metadata \(text.debugDescription)", [event])
            if case .invalidEvent(let id, _)? = error { #expect(id == event.id.uuidString) }
        }
        // Valid objects, with or without surrounding white space, are stored as given.
        for text in ["{}", #" {"tags":["a"],"n":-1.5e3,"o":{"x":[true,false,null]}} "#] {
            let event = EventData(type: "noted", data: Data("{}".utf8), metadata: Data(text.utf8))
            try await c.store.append(to: "good-metadata", event: event)
            #expect(try await readStream(c.store, "good-metadata", from: .end, direction: .backward, limit: 1).first?.metadata == Data(text.utf8))
        }
    }

    static func nonUTF8Metadata(_ c: ConformanceContext) async throws {
        // A JSON text is UTF-8 (RFC 8259 §8.1); 0xFF never occurs in UTF-8.
        var bytes = Data(#"{"a":""#.utf8)
        bytes.append(0xFF)
        bytes.append(contentsOf: Data(#""}"#.utf8))
        let event = EventData(type: "noted", data: Data("{}".utf8), metadata: bytes)
        try await rejects(c.store, .invalidEvent, "metadata with byte 0xFF", [event])
    }

    static func longContentType(_ c: ConformanceContext) async throws {
        let event = EventData(type: "noted", data: Data("x".utf8), contentType: ContentType(String(repeating: "c", count: 256)))
        try await rejects(c.store, .invalidEvent, "content type of 256 bytes", [event])
        let fits = EventData(type: "noted", data: Data("x".utf8), contentType: ContentType(String(repeating: "c", count: 255)))
        try await c.store.append(to: "fits", event: fits)
        #expect(try await readStream(c.store, "fits").first?.contentType == fits.contentType)
    }

    static func badStreamNames(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "bystander", event: sample())
        let bad = ["", String(repeating: "s", count: 256), String(repeating: "é", count: 128), "line\nbreak", "nul\u{0}",
                   "del\u{7F}", "c1\u{85}", "$all", "$custom", "$"]
        for name in bad {
            let before = try await store.headPosition()
            let error = await expectThrows(.invalidStreamName, "stream name \(name.debugDescription)") {
                try await store.append(to: name, events: [sample()])
            }
            if case .invalidStreamName(let reported, _)? = error { #expect(reported == name) }
            #expect(try await store.headPosition() == before)
            // A bad name in a multi-stream append takes the good stream down with it.
            await expectThrows(.invalidStreamName, "stream name \(name.debugDescription) next to a good one") {
                try await store.append([AppendRequest(stream: "good", events: [sample()]), AppendRequest(stream: name, events: [sample()])])
            }
            #expect(try await store.headPosition() == before)
        }
        #expect(try await store.listStreams().collect() == ["bystander"])
        // The longest name is fine, in bytes not characters.
        let longest = String(repeating: "é", count: 127) + "x"
        #expect(longest.utf8.count == 255)
        try await store.append(to: longest, event: sample())
        #expect(try await readStream(store, longest).count == 1)
    }

    static func malformedAppends(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "bystander", event: sample())
        let streams = ["a", "b", "bystander"]
        try await expectRejected(store, .invalidAppend, streams: streams, "no requests") {
            try await store.append([], condition: nil)
        }
        try await expectRejected(store, .invalidAppend, streams: streams, "no events") {
            try await store.append(to: "a", events: [])
        }
        try await expectRejected(store, .invalidAppend, streams: streams, "a request without events next to a good one") {
            try await store.append([AppendRequest(stream: "a", events: [sample()]), AppendRequest(stream: "b", events: [])])
        }
        try await expectRejected(store, .invalidAppend, streams: streams, "one stream twice") {
            try await store.append([AppendRequest(stream: "a", events: [sample()]), AppendRequest(stream: "a", events: [sample()])])
        }
        let twin = sample()
        try await expectRejected(store, .invalidAppend, streams: streams, "one id twice in a stream") {
            try await store.append(to: "a", events: [twin, twin])
        }
        try await expectRejected(store, .invalidAppend, streams: streams, "one id in two streams of one append") {
            try await store.append([AppendRequest(stream: "a", events: [twin]), AppendRequest(stream: "b", events: [twin])])
        }
    }
}
