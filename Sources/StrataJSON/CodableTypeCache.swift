/// Remembers, per type, whether the coders handle it themselves (`[String: Value]`
/// dictionaries, arrays) so that a protocol-conformance lookup, which costs more than decoding a
/// small value, happens once per type rather than once per value.
final class CodableTypeCache {
    enum Category {
        case plain
        case dictionary(any StringKeyedDictionaryDecodable.Type)
        case array(any ArrayDecodable.Type)
        case encodableDictionary(any StringKeyedDictionaryEncodable.Type)
    }

    private struct Entry {
        var id: ObjectIdentifier
        var category: Category
    }

    private static let size = 16
    private let entries: UnsafeMutablePointer<Entry>
    private var used = 0
    private var nextSlot = 0

    init() {
        entries = .allocate(capacity: CodableTypeCache.size)
    }

    deinit {
        entries.deinitialize(count: used)
        entries.deallocate()
    }

    @inline(__always)
    func category(of id: ObjectIdentifier) -> Category? {
        for i in 0..<used where entries[i].id == id { return entries[i].category }
        return nil
    }

    func remember(_ id: ObjectIdentifier, _ category: Category) {
        if used < CodableTypeCache.size {
            (entries + used).initialize(to: Entry(id: id, category: category))
            used += 1
        } else {
            entries[nextSlot] = Entry(id: id, category: category)
            nextSlot = (nextSlot + 1) % CodableTypeCache.size
        }
    }
}

/// Reads a value as the type it is known to be: callers check `T.self == U.self` first.
@inline(__always)
func reinterpret<U, T>(_ value: U, as type: T.Type) -> T {
    withUnsafePointer(to: value) { UnsafeRawPointer($0).assumingMemoryBound(to: T.self).pointee }
}
