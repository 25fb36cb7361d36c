import Foundation
import Strata
import StrataJSON

/// A collection whose documents are a `Codable` type (eventbase's generic `query<User>`, typed
/// end to end): values go in and come out as `Document`, and queries are built from typed
/// fields (``DocumentField``), so a misspelt field or a wrong operand type fails to compile.
///
/// ```swift
/// struct User: Codable, Sendable { var name: String; var age: Int; var status: String }
/// extension User {
///     static let age = DocumentField<User, Int>("age")
///     static let status = DocumentField<User, String>("status")
/// }
/// let users = TypedCollection<User>(try await DocumentStore.open(store: store, collection: "users"))
/// try await users.put("ada", User(name: "Ada", age: 36, status: "active"))
/// let adults = try users.query(User.age >= 18 && User.status.in(["active", "pending"]),
///                              options: QueryOptions(sort: [.descending("age")], limit: 10))
/// print(adults.map(\.value.name))
/// ```
///
/// Values are stored as the JSON their `Encodable` conformance writes (Strata's JSON encoder:
/// ISO 8601 dates, sorted keys), so an untyped reader, the HTTP API and the CLI see the same
/// documents. A stored document that does not decode as `Document` is an error naming its key
/// (`StrataError.invalidArgument`), never a silent skip.
public struct TypedCollection<Document: Codable & Sendable>: Sendable {
    /// The untyped collection underneath (for subscriptions, history, compaction, erasure).
    public let documents: DocumentStore

    /// Wraps an open collection.
    public init(_ documents: DocumentStore) {
        self.documents = documents
    }

    /// Stores `value` under `key` (replacing any document there).
    /// - Throws: as ``DocumentStore/put(_:_:expectedChanges:)``; `invalidArgument` when the value
    ///   does not encode as a JSON object.
    @discardableResult
    public func put(_ key: String, _ value: Document, expectedChanges: Int? = nil) async throws -> TypedDocument<Document> {
        try decode(try await documents.put(key, try Self.encode(value), expectedChanges: expectedChanges))
    }

    /// Stores `value` under a new random key.
    @discardableResult
    public func insert(_ value: Document) async throws -> TypedDocument<Document> {
        try decode(try await documents.insert(try Self.encode(value)))
    }

    /// The document under `key`, or nil.
    /// - Throws: `StrataError.invalidArgument` when it does not decode as `Document`.
    public func get(_ key: String) throws -> TypedDocument<Document>? {
        try documents.get(key).map(decode)
    }

    /// Deletes the document under `key`; whether there was one.
    @discardableResult
    public func delete(_ key: String, expectedChanges: Int? = nil) async throws -> Bool {
        try await documents.delete(key, expectedChanges: expectedChanges)
    }

    /// The documents matching `filter`, with sort, limit, offset as ``QueryOptions`` says.
    public func query(_ filter: TypedFilter<Document> = .all, options: QueryOptions = QueryOptions()) throws -> [TypedDocument<Document>] {
        try documents.query(filter.filter, options: options).map(decode)
    }

    /// How many documents match `filter`.
    public func count(_ filter: TypedFilter<Document> = .all) throws -> Int {
        try documents.count(filter.filter)
    }

    /// The keys, sorted by UTF-8 bytes.
    public func keys() throws -> [String] { try documents.keys() }

    /// The JSON object `value` encodes as.
    static func encode(_ value: Document) throws -> DocumentValue {
        let encoded: DocumentValue
        do { encoded = try DocumentValue.parse(try StrataJSONEncoder().encode(value)) } catch {
            throw StrataError.invalidArgument("a \(Document.self) does not encode as JSON: \(error)")
        }
        guard case .object = encoded else {
            throw StrataError.invalidArgument("a \(Document.self) encodes as \(encoded.jsonBytes.count < 60 ? String(decoding: encoded.jsonBytes, as: UTF8.self) : "a non-object"), not a JSON object: documents are objects")
        }
        return encoded
    }

    private func decode(_ document: StrataDocuments.Document) throws -> TypedDocument<Document> {
        do {
            let value = try StrataJSONDecoder().decode(Document.self, from: Data(document.data.jsonBytes))
            return TypedDocument(key: document.key, value: value, meta: document.meta)
        } catch {
            throw StrataError.invalidArgument("the document \(documents.collection)/\(document.key) does not decode as \(Document.self): \(error)")
        }
    }
}

/// A document of a ``TypedCollection``: its key, its value, and its meta (changes, times).
public struct TypedDocument<Value: Sendable>: Sendable {
    /// The key.
    public let key: String
    /// The decoded value.
    public let value: Value
    /// Its meta, as eventbase has it: id, created, modified, changes.
    public let meta: DocumentMeta
}

extension TypedDocument: Equatable where Value: Equatable {}
