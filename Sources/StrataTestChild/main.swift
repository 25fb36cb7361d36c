// The one child process of Strata's multi-process, kill and restart tests. Not a user tool.
//
//   StrataTestChild --store URL WORKLOAD [--OPTION VALUE]…
//
// Opens the store at URL (any store URL the StoreRegistry knows: file:PATH?options, sqlite:PATH,
// postgres://…?schema=…, nats://…/STORE, memory:), runs WORKLOAD, closes the store and exits 0.
// Every step a test can observe is one line on stdout, written with one write(2), so that a
// parent that kills the child has read every line the child printed. Workloads:
//
//   append --prefix P [--streams K] [--batch B | --max-batch B] [--appends N | --events N]
//          [--seed S] [--follow T]
//     appends events `{"writer":P,"seq":N}` to streams P-0…P-(K-1) (K: 8), each append to a
//     stream the seeded generator picks, of exactly B events (--batch) or 1…B (--max-batch,
//     default 5), and prints after each acknowledged append
//       ack <firstPosition> <lastPosition> <stream> <lastRevision> <id-of-the-last-event>
//     until N appends (--appends) or N events (--events; the last append is cut to fit) are
//     done, or until killed. With --follow T it also runs the follow workload at the same time
//     and finishes once both are done.
//   follow --count T
//     subscribes to $all from the start, prints `caughtUp <position>` when it goes live and
//       event <position> <stream> <revision> <id>
//     per event; finishes after T events (failing when the subscription ends before).
//   consume --variant state|checkpoint --path P --until N [--batch B]
//     runs a consumer over the store: a StateFileConsumer whose snapshot file is P (state), or a
//     CheckpointedConsumer named "killed" over a FileCheckpointStore in folder P (checkpoint);
//     prints `handled <position>` for each event its handler sees, then `done <last> <count>`
//     (state) or `done <checkpoint>` (checkpoint) once it has processed position N. The state
//     variant exits 4 after printing `out-of-order <position> after <last>` when an event
//     arrives out of order or twice.
//   emit --checkpoints DIR --endpoint URL --count N --batch B
//     opens an Emitter whose shipper POSTs batches of B to URL (its checkpoints in DIR), emits
//     events until the outbox holds N (in chunks of 50, each flushed, printing
//     `emitted <outbox length>`), flushes the shipper and prints `done <delivered events>`. Run
//     again after a kill, it emits only what is missing and ships the rest.
//   group --checkpoints file:DIR|sqlite:PATH|postgres|jetstream --group G --member M --until N --log FILE
//         [--partitions P] [--lease-ms L] [--batch B] [--pause-ms T]
//     runs one ConsumerGroupMember of group G (P partitions, default 8; lease L ms, default
//     1000) whose checkpoints and leases live in a FileCheckpointStore, a SQLiteCheckpointStore
//     the PostgreSQL store's own schema or the JetStream store's consumers' stream; its handler appends `handled <wall-clock ns>
//     <position> <stream> <revision>` lines to FILE, then pauses T ms, before each commit. Prints `started`, `holding <k>` whenever
//     the number of partitions it holds changes, and `done` once every partition of the group
//     is checkpointed through N.
//
// Exit status: 0 done, 1 failure (one line on stderr), 2 bad arguments, 3 stdout went away,
// 4 out of order (consume).
import Foundation
import Strata
import StrataStores

let arguments = ChildArguments(Array(CommandLine.arguments.dropFirst()))
do {
    let store = try await StoreRegistry.standard().open(arguments.store, access: .create)
    do {
        switch arguments.workload {
        case "append": try await AppendWorkload(arguments).run(on: store)
        case "follow": try await FollowWorkload(arguments).run(on: store)
        case "consume": try await ConsumeWorkload(arguments).run(on: store)
        case "emit": try await EmitWorkload(arguments).run(on: store)
        case "group": try await GroupWorkload(arguments).run(on: store)
        default: ChildArguments.usage("unknown workload \(arguments.workload)")
        }
    } catch {
        try? await store.close()
        throw error
    }
    try await store.close()
} catch {
    fail("\(error)")
}
exit(0)
