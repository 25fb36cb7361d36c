// Fuzzes the HTTP request bodies of every endpoint that takes one, through the decoders the
// routes call (StrataServer/Wire/RequestBodies.swift, DocumentRoutes' document body):
//   byte 0 % 4 == 0  POST /streams/{s}          RequestBodies.append
//                 1  POST /append               RequestBodies.multiAppend
//                 2  PUT /streams/{s}/metadata  RequestBodies.metadata
//                 3  PUT/POST documents         DocumentValue.parse (+ object check)
// Every accepted request must pass (or be refused by) the store's append validation; no
// input may crash. The rest of the input is the body.
import Foundation
import FuzzSupport
import Strata
@testable import StrataServer
import StrataJSONShapes
import StrataDocuments

let limits = ServerLimits()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let body = [UInt8](UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch data[0] % 4 {
    case 0:
        if let request = try? RequestBodies.append(stream: "orders-1", body: body, limits: limits) {
            _ = try? AppendValidation.validate([request], limits: EventLimits(maxEventSize: limits.maxEventBytes))
            for event in request.events { _ = event.encodedSize }
        }
    case 1:
        if let (requests, condition) = try? RequestBodies.multiAppend(body: body, limits: limits) {
            _ = try? AppendValidation.validate(requests, limits: EventLimits(maxEventSize: limits.maxEventBytes))
            _ = condition
        }
    case 2:
        _ = try? RequestBodies.metadata(body: body)
    default:
        if let value = try? DocumentValue.parse(body), case .object = value {
            // What a put stores is written back as JSON and must read back the same.
            let again = try? DocumentValue.parse(value.jsonBytes)
            precondition(again == value, "a document body does not survive a write and read: \(value)")
        }
    }
    return 0
}

@_cdecl("FuzzRequestBodies_main")
public func FuzzRequestBodiesMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
