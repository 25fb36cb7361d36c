import Foundation
import Strata
import StrataDocuments
import Testing

/// Found by Fuzz/FuzzJSON: the document reader's depth limit counted scalars, so 256 nested
/// empty arrays were accepted but a value inside 256 arrays was not. The limit counts containers.
@Suite("Document JSON depth limit")
struct DocumentJSONDepthTests {
    @Test("accepts any value inside 256 containers and refuses a 257th container")
    func depthCountsContainers() throws {
        let depth = 256
        let empty = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let scalar = String(repeating: "[", count: depth) + "1" + String(repeating: "]", count: depth)
        _ = try DocumentValue.parse(empty)
        _ = try DocumentValue.parse(scalar)
        #expect(throws: (any Error).self) { _ = try DocumentValue.parse("[" + scalar + "]") }
        #expect(throws: (any Error).self) { _ = try DocumentValue.parse("[" + empty + "]") }
    }
}
