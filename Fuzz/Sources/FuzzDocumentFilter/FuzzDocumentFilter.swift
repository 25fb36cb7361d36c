// Fuzzes the document query path as a `POST /documents/{c}/query` body meets it: the body is
// parsed as JSON, `filter` is parsed into a `DocumentFilter` (MongoDB-style operators, dotted
// paths, `$regex`), the rest into `QueryOptions`, and the filter is evaluated against a fixed
// set of documents and against a second document taken from the input (after a NUL byte),
// then sorting, paging and projection are applied. Evaluation errors must be thrown errors.
import Foundation
import FuzzSupport
import Strata
@testable import StrataDocuments

let fixed: [DocumentValue] = [
    .object([:]),
    .object(["age": .int(30), "name": .string("Ada"), "tags": .array([.string("a"), .string("b")]),
             "address": .object(["city": .string("Paris"), "zip": .string("75001")])]),
    .object(["age": .double(17.5), "status": .string("pending"), "items": .array([.object(["sku": .string("x1"), "qty": .int(2)]),
                                                                                  .object(["sku": .string("y2"), "qty": .int(-1)])])]),
    .object(["age": .null, "flag": .bool(true), "n": .int(.min), "d": .double(-0.0), "nested": .array([.array([.int(1)]), .object(["0": .int(7)])])]),
    .object(["status": .string("active"), "text": .string("ÄÖÜ naïve 日本語 \u{0}"), "big": .double(1e300)]),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let split = bytes.firstIndex(of: 0) ?? size
    guard let body = try? DocumentValue.parse(bytes[0..<split]) else { return 0 }
    var documents = fixed
    if split < size, let extra = try? DocumentValue.parse(bytes[(split + 1)...]) { documents.append(extra) }

    guard case .object(var members) = body else {
        _ = try? DocumentFilter(body)
        return 0
    }
    let filterJSON = members.removeValue(forKey: "filter") ?? body
    guard let filter = try? DocumentFilter(filterJSON) else { return 0 }
    var matched: [Document] = []
    for (i, document) in documents.enumerated() {
        if (try? filter.matches(document)) == true {
            matched.append(Document(key: "k\(i)", data: document, meta: DocumentMeta(id: "k\(i)", createdMilliseconds: 0, modifiedMilliseconds: 0, changes: 1)))
        }
    }
    _ = QueryPlanner.lookup(filter, indexes: [:])
    if let options = try? QueryOptions(json: .object(members)) {
        _ = try? QueryShaping.apply(matched, options: options)
    }
    return 0
}

@_cdecl("FuzzDocumentFilter_main")
public func FuzzDocumentFilterMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
