/// Keyed decoding containers already built, kept per coding-key type and reused.
///
/// Building a `KeyedDecodingContainer<Key>` costs two generic-metadata lookups, a witness-table
/// lookup and an allocation — more than decoding a small struct's members. A container is valid
/// only during the `init(from:)` that asked for it, so once that returns its container can serve
/// the next value of the same type: the container reads which object it is over from its slot.
final class KeyedContainerPool {
    /// One built container and the object it currently stands for.
    final class Slot {
        @exclusivity(unchecked) var object = 0
        @exclusivity(unchecked) var view: JSONView
        /// The `KeyedDecodingContainer<Key>`, stored untyped.
        let storage: UnsafeMutableRawPointer
        let destroy: (UnsafeMutableRawPointer) -> Void
        let type: ObjectIdentifier

        init(view: JSONView, type: ObjectIdentifier, storage: UnsafeMutableRawPointer, destroy: @escaping (UnsafeMutableRawPointer) -> Void) {
            self.view = view
            self.type = type
            self.storage = storage
            self.destroy = destroy
        }

        deinit {
            destroy(storage)
            storage.deallocate()
        }
    }

    private struct Shelf {
        let type: ObjectIdentifier
        var free: [Slot]
    }

    @exclusivity(unchecked) private var shelves: [Shelf] = []
    /// Slots handed out, in order; released back to a mark when an `init(from:)` returns.
    @exclusivity(unchecked) private var inUse: [Slot] = []

    /// How many slots are handed out (a mark for ``release(to:)``).
    var mark: Int { inUse.count }

    /// A container of `Key` over `object`: a free one of this type, or a new one.
    @inline(__always)
    func container<Key: CodingKey>(_ key: Key.Type, object: Int, view: JSONView, state: JSONDecodingState) -> KeyedDecodingContainer<Key> {
        let type = ObjectIdentifier(Key.self)
        for i in shelves.indices where shelves[i].type == type {
            if let slot = shelves[i].free.popLast() {
                slot.object = object
                slot.view = view
                inUse.append(slot)
                return slot.storage.assumingMemoryBound(to: KeyedDecodingContainer<Key>.self).pointee
            }
            break
        }
        return build(Key.self, object: object, view: view, state: state)
    }

    private func build<Key: CodingKey>(_ key: Key.Type, object: Int, view: JSONView, state: JSONDecodingState) -> KeyedDecodingContainer<Key> {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<KeyedDecodingContainer<Key>>.size,
                                                       alignment: MemoryLayout<KeyedDecodingContainer<Key>>.alignment)
        let slot = Slot(view: view, type: ObjectIdentifier(Key.self), storage: storage) {
            $0.assumingMemoryBound(to: KeyedDecodingContainer<Key>.self).deinitialize(count: 1)
        }
        slot.object = object
        let container = KeyedDecodingContainer(JSONKeyedDecodingContainer<Key>(state: state, slot: slot))
        storage.initializeMemory(as: KeyedDecodingContainer<Key>.self, repeating: container, count: 1)
        if !shelves.contains(where: { $0.type == slot.type }) {
            shelves.append(Shelf(type: slot.type, free: []))
        }
        inUse.append(slot)
        return container
    }

    /// Returns the slots handed out since `mark` to their shelves.
    @inline(__always)
    func release(to mark: Int) {
        while inUse.count > mark {
            let slot = inUse.removeLast()
            for i in shelves.indices where shelves[i].type == slot.type {
                shelves[i].free.append(slot)
                break
            }
        }
    }
}

/// Keyed encoding containers already built, kept per coding-key type and reused once the
/// `encode(to:)` that asked for one returns (see ``KeyedContainerPool``).
final class KeyedEncodingContainerPool {
    /// One built container and the place it currently writes to.
    final class Slot {
        @exclusivity(unchecked) var depth = 0
        @exclusivity(unchecked) var id: UInt32 = 0
        /// The `KeyedEncodingContainer<Key>`, stored untyped.
        let storage: UnsafeMutableRawPointer
        let destroy: (UnsafeMutableRawPointer) -> Void
        let type: ObjectIdentifier

        init(type: ObjectIdentifier, storage: UnsafeMutableRawPointer, destroy: @escaping (UnsafeMutableRawPointer) -> Void) {
            self.type = type
            self.storage = storage
            self.destroy = destroy
        }

        deinit {
            destroy(storage)
            storage.deallocate()
        }
    }

    private struct Shelf {
        let type: ObjectIdentifier
        var free: [Slot]
    }

    @exclusivity(unchecked) private var shelves: [Shelf] = []
    @exclusivity(unchecked) private var inUse: [Slot] = []

    var mark: Int { inUse.count }

    /// A container of `Key` writing to the place at `depth` with `id`.
    @inline(__always)
    func container<Key: CodingKey>(_ key: Key.Type, depth: Int, id: UInt32, state: JSONEncodingState) -> KeyedEncodingContainer<Key> {
        let type = ObjectIdentifier(Key.self)
        for i in shelves.indices where shelves[i].type == type {
            if let slot = shelves[i].free.popLast() {
                slot.depth = depth
                slot.id = id
                inUse.append(slot)
                return slot.storage.assumingMemoryBound(to: KeyedEncodingContainer<Key>.self).pointee
            }
            break
        }
        return build(Key.self, depth: depth, id: id, state: state)
    }

    private func build<Key: CodingKey>(_ key: Key.Type, depth: Int, id: UInt32, state: JSONEncodingState) -> KeyedEncodingContainer<Key> {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<KeyedEncodingContainer<Key>>.size,
                                                       alignment: MemoryLayout<KeyedEncodingContainer<Key>>.alignment)
        let slot = Slot(type: ObjectIdentifier(Key.self), storage: storage) {
            $0.assumingMemoryBound(to: KeyedEncodingContainer<Key>.self).deinitialize(count: 1)
        }
        slot.depth = depth
        slot.id = id
        let container = KeyedEncodingContainer(JSONKeyedEncodingContainer<Key>(state: state, slot: slot))
        storage.initializeMemory(as: KeyedEncodingContainer<Key>.self, repeating: container, count: 1)
        if !shelves.contains(where: { $0.type == slot.type }) {
            shelves.append(Shelf(type: slot.type, free: []))
        }
        inUse.append(slot)
        return container
    }

    /// Returns the slots handed out since `mark` to their shelves.
    @inline(__always)
    func release(to mark: Int) {
        while inUse.count > mark {
            let slot = inUse.removeLast()
            for i in shelves.indices where shelves[i].type == slot.type {
                shelves[i].free.append(slot)
                break
            }
        }
    }
}
