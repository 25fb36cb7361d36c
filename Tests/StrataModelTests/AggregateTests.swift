import Foundation
import Strata
import StrataModel
import StrataTestSupport
import Testing

@Suite("Aggregates, snapshots and relations")
struct AggregateTests {
    let codec = EventCodec()

    @Test("load, record (applied at once), save; a new id has the initial state")
    func loadRecordSave() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store, codec: codec)
        let account = try await repository.load(Account.self, id: "1")
        #expect(!account.exists && account.state.balance == 0)
        try account.record(.deposited(Deposited(amount: 50)))
        try account.record(try account.state.withdraw(20))
        #expect(account.state.balance == 30 && account.pending.count == 2)
        try await repository.save(account)
        #expect(account.pending.isEmpty && account.revision == 2 && account.exists)
        let again = try await repository.load(Account.self, id: "1")
        #expect(again.state.balance == 30 && again.revision == 2)
        #expect(throws: InsufficientFunds.self) { try again.record(try again.state.withdraw(31)) }
    }

    @Test("a concurrent save is a typed conflict; update re-runs the decision on fresh state")
    func conflict() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store, codec: codec)
        let seed = try await repository.load(Account.self, id: "1")
        try seed.record(.deposited(Deposited(amount: 100)))
        try await repository.save(seed)

        let first = try await repository.load(Account.self, id: "1")
        let second = try await repository.load(Account.self, id: "1")
        try first.record(try first.state.withdraw(70))
        try second.record(try second.state.withdraw(70))
        try await repository.save(first)
        await #expect(throws: StrataError.wrongExpectedRevision(stream: "account-1", expected: .exact(1), actual: 2)) {
            try await repository.save(second)
        }
        // The helper decides again on fresh state: the first round withdraws the 30 it sees,
        // but another writer deposits 1 before it saves; the second round withdraws all 31.
        var runs = 0
        let racing = try await repository.load(Account.self, id: "1")
        try racing.record(.deposited(Deposited(amount: 1)))
        try await repository.update(Account.self, id: "1") { account in
            runs += 1
            if runs == 1 { try await repository.save(racing) }   // another writer wins the first round
            try account.record(try account.state.withdraw(account.state.balance))
        }
        #expect(runs == 2)
        #expect(try await repository.load(Account.self, id: "1").state.balance == 0)
    }

    @Test("several aggregates save in one atomic multi-stream append; one conflict stores none")
    func multiAggregate() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store, codec: codec)
        let a = try await repository.load(Account.self, id: "a")
        let b = try await repository.load(Account.self, id: "b")
        try a.record(.deposited(Deposited(amount: 5)))
        try b.record(.deposited(Deposited(amount: 7)))
        let results = try await repository.save([a, b])
        #expect(results.map(\.stream) == ["account-a", "account-b"])
        #expect(results[0].lastPosition + 1 == results[1].firstPosition)

        let a2 = try await repository.load(Account.self, id: "a")
        let staleB = try await repository.load(Account.self, id: "b")
        let b2 = try await repository.load(Account.self, id: "b")
        try b2.record(.deposited(Deposited(amount: 1)))
        try await repository.save(b2)
        try a2.record(.withdrawn(Withdrawn(amount: 5)))
        try staleB.record(.deposited(Deposited(amount: 5)))
        let head = try await store.headPosition()
        await #expect(throws: StrataError.self) { try await repository.save([a2, staleB]) }
        #expect(try await store.headPosition() == head)
        #expect(try await repository.load(Account.self, id: "a").state.balance == 5)
    }

    @Test("snapshots every N events; loads start from the snapshot; a version change ignores it")
    func snapshots() async throws {
        let store = InMemoryEventStore()
        let snapshots = MemorySnapshotStore()
        let repository = Repository(store: store, codec: codec, snapshots: snapshots, policy: .every(3))
        let account = try await repository.load(Account.self, id: "1")
        for _ in 0 ..< 4 { try account.record(.deposited(Deposited(amount: 1))) }
        try await repository.save(account)
        #expect(try await snapshots.load(reducer: "account", stream: "account-1") == nil)
        let loaded = try await repository.load(Account.self, id: "1")   // folds 4 ≥ 3: snapshot at 4
        #expect(loaded.state.applied == 4)
        let snapshot = try #require(try await snapshots.load(reducer: "account", stream: "account-1"))
        #expect(snapshot.revision == 4 && snapshot.reducerVersion == 1)
        try loaded.record(.deposited(Deposited(amount: 1)))
        try await repository.save(loaded)
        // The state in the snapshot says it applied 4 events; a load applies only the fifth.
        let next = try await repository.load(Account.self, id: "1")
        #expect(next.state.balance == 5 && next.state.applied == 5 && next.revision == 5)

        // A reducer of another version ignores the account snapshot.
        let counting = Reducer<Account, AccountEvents>(name: "account", version: 2, initial: Account()) { state, envelope in
            state.apply(envelope.event)
        }
        let manual = Repository(store: store, codec: codec, snapshots: snapshots, policy: .manual)
        let tampered = Snapshot(reducer: "account", stream: "account-1", reducerVersion: 1, revision: 5, firstRevision: 1,
                                state: Data(#"{"balance":1000,"applied":0}"#.utf8))
        try await snapshots.save(tampered)
        #expect(try await manual.reduce(stream: "account-1", using: counting)?.balance == 5)
        let sameVersion = Reducer<Account, AccountEvents>(name: "account", version: 1, initial: Account()) { $0.apply($1.event) }
        #expect(try await manual.reduce(stream: "account-1", using: sameVersion)?.balance == 1000)
        // On demand.
        let taken = try #require(try await manual.snapshot(stream: "account-1", using: counting))
        #expect(taken.reducerVersion == 2 && taken.revision == 5)
    }

    @Test("a snapshot of a deleted and recreated stream is ignored")
    func snapshotAfterRecreate() async throws {
        let store = InMemoryEventStore()
        let snapshots = MemorySnapshotStore()
        let repository = Repository(store: store, codec: codec, snapshots: snapshots, policy: .every(1))
        let account = try await repository.load(Account.self, id: "1")
        try account.record(.deposited(Deposited(amount: 9)))
        try await repository.save(account)
        _ = try await repository.load(Account.self, id: "1")
        #expect(try await snapshots.load(reducer: "account", stream: "account-1") != nil)
        try await store.deleteStream("account-1", expectedRevision: .any, mode: .soft)
        let fresh = try await repository.load(Account.self, id: "1")
        #expect(!fresh.exists && fresh.state.balance == 0)
        try fresh.record(.deposited(Deposited(amount: 2)))
        try await repository.save(fresh)
        #expect(try await repository.load(Account.self, id: "1").state.balance == 2)
    }

    @Test("file snapshots survive reopening")
    func fileSnapshots() async throws {
        let dir = try TemporaryDirectory("model-snapshots").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let snapshot = Snapshot(reducer: "user/v", stream: "user:1", reducerVersion: 3, revision: 9, firstRevision: 1, state: Data("{}".utf8))
        try await FileSnapshotStore(directory: dir).save(snapshot)
        #expect(try await FileSnapshotStore(directory: dir).load(reducer: "user/v", stream: "user:1") == snapshot)
        try await FileSnapshotStore(directory: dir).delete(reducer: "user/v", stream: "user:1")
        #expect(try await FileSnapshotStore(directory: dir).load(reducer: "user/v", stream: "user:1") == nil)
    }

    @Test("relations: duplicates ignored, removal, atomic with appends, reduce over a relation")
    func relations() async throws {
        let store = InMemoryEventStore()
        let relations = Relations(store: store)
        let repository = Repository(store: store, codec: codec)
        let a = try await repository.load(Account.self, id: "a")
        try a.record(.deposited(Deposited(amount: 3)))
        try await repository.save(a, alsoAppending: [try relations.addRequest(key: "owner:1:accounts", streams: ["account-a"])])
        let b = try await repository.load(Account.self, id: "b")
        try b.record(.deposited(Deposited(amount: 4)))
        try await repository.save(b, alsoAppending: [try relations.addRequest(key: "owner:1:accounts", streams: ["account-b", "account-a"])])
        #expect(try await relations.streams(for: "owner:1:accounts") == ["account-a", "account-b"])
        let total = Reducer<Int, AccountEvents>(name: "total", initial: 0) { sum, envelope in
            if case .deposited(let e) = envelope.event { sum += e.amount }
        }
        #expect(try await repository.reduce(relation: "owner:1:accounts", in: relations, using: total) == 7)
        try await relations.remove(key: "owner:1:accounts", streams: ["account-a"])
        #expect(try await relations.streams(for: "owner:1:accounts") == ["account-b"])
        #expect(try await repository.reduce(relation: "owner:1:accounts", in: relations, using: total) == 4)
        #expect(try await relations.streams(for: "nobody") == [])
        #expect(try await repository.reduce(relation: "nobody", in: relations, using: total) == nil)

        // A failed append stores neither the event nor the relation.
        let stale = try await repository.load(Account.self, id: "a")
        let winner = try await repository.load(Account.self, id: "a")
        try winner.record(.deposited(Deposited(amount: 1)))
        try await repository.save(winner)
        try stale.record(.deposited(Deposited(amount: 1)))
        await #expect(throws: StrataError.self) {
            try await repository.save(stale, alsoAppending: [try relations.addRequest(key: "owner:2:accounts", streams: ["account-a"])])
        }
        #expect(try await relations.streams(for: "owner:2:accounts") == [])
    }
}
