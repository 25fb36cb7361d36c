// Fuzzes the ingest batch (`POST /ingest`, StrataServer/Routes/IngestRoutes.swift): the body is
// split with RequestBodies as the route does, each event goes through `Handlers.ingestEvent`
// (ids, types, string or object `source`, `ts` and `source` merged into the metadata object),
// and the batch through the store's append validation. Metadata the handler builds must still
// be one valid JSON object.
import Foundation
import FuzzSupport
import Strata
@testable import StrataServer
import StrataJSONShapes
import StrataJSON

let limits = ServerLimits()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = [UInt8](UnsafeBufferPointer(start: data, count: size))
    guard let fields = try? RequestBodies.object(body),
          (try? RequestBodies.check(fields, allowed: ["events"], in: "the batch")) != nil,
          let raws = (try? RequestBodies.array(fields, "events", in: "the batch")) ?? nil,
          raws.count <= limits.maxEventsPerAppend else { return 0 }
    var requests: [AppendRequest] = []
    for (index, raw) in raws.enumerated() {
        guard let (stream, event) = try? Handlers.ingestEvent(raw, index: index, defaultSource: "default") else { continue }
        if let metadata = event.metadata {
            precondition(JSONSyntax.isObject(metadata), "ingest built metadata that is not a JSON object: \(String(decoding: metadata, as: UTF8.self))")
        }
        requests.append(AppendRequest(stream: stream, expectedRevision: .any, events: [event]))
    }
    _ = try? AppendValidation.validate(requests, limits: EventLimits(maxEventSize: limits.maxEventBytes))
    return 0
}

@_cdecl("FuzzIngest_main")
public func FuzzIngestMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
