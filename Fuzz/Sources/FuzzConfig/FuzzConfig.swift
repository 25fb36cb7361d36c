// Fuzzes the two config loaders:
//   byte 0 even: event schema configs (StrataSchema ConfigLoader, docs/SCHEMAS.md). The rest of
//     the input is split at NUL bytes into files: the first is `$definitions.json`, the others
//     `events/E<i>.json`. When they load, sample payloads (fixed ones and the last part of the
//     input) are validated against every event schema.
//   byte 0 odd: the server configuration file (`strata serve --config`, ServerConfiguration
//     .apply(file:)), written to a file in /dev/shm as the loader only reads paths; bit 1 of
//     byte 0 also passes the input as STRATA_API_KEYS.
import Foundation
import FuzzSupport
import Strata
@testable import StrataSchema
import StrataServer

let samples: [String] = [#"{}"#, #"{"id":"a","n":1,"tags":["x"],"at":"2024-01-02T03:04:05Z"}"#, #"[1,2]"#, #"null"#,
                         #"{"amount":-1.5e3,"email":"a@b.c","uuid":"00000000-0000-0000-0000-000000000000","nested":{"k":[{"v":true}]}}"#]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let control = data[0]
    let rest = UnsafeBufferPointer(start: data + 1, count: size - 1)
    if control & 1 == 0 {
        let parts = rest.split(separator: 0, omittingEmptySubsequences: false).prefix(4)
        var files: [(path: String, bytes: Data)] = []
        for (i, part) in parts.enumerated() {
            files.append((i == 0 ? "$definitions.json" : "events/E\(i).json", Data(part)))
        }
        guard (try? ConfigLoader.load(files, displayRoot: "fuzz")) != nil else { return 0 }
        let asText = Dictionary(files.map { ($0.path, String(decoding: $0.bytes, as: UTF8.self)) }, uniquingKeysWith: { a, _ in a })
        guard let set = try? EventSchemaSet(files: asText) else { return 0 }
        let payloads = samples.map { Data($0.utf8) } + [files.last!.bytes]
        for type in set.eventTypes {
            for payload in payloads { _ = set.validate(type: type, data: payload, meta: payloads[1]) }
        }
        return 0
    }
    let path = FuzzSupport.scratch + "/server-config.json"
    FuzzSupport.write(UnsafeRawBufferPointer(rest), to: path)
    var configuration = ServerConfiguration()
    _ = try? configuration.apply(file: path)
    if control & 2 != 0 {
        var fresh = ServerConfiguration()
        try? fresh.apply(environment: ["STRATA_API_KEYS": String(decoding: rest, as: UTF8.self)])
    }
    return 0
}

@_cdecl("FuzzConfig_main")
public func FuzzConfigMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
