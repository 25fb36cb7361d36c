#!/usr/bin/env python3
"""What users would pick instead of Strata, measured on Strata's workloads (docs/BENCHMARKS.md,
"Peers"). scripts/bench-peers.sh installs the peers, starts the servers on loopback and runs this.

    bench_peers.py --events N --postgres URL --redis-always PORT --redis-everysec PORT \
                   --strata strata-bench.json --out peers.json

Peers: Python `eventsourcing` (its SQLite and PostgreSQL recorders, through an application and an
aggregate as its users write them), Redis Streams (redis-benchmark, pipelined XADD and XRANGE,
with appendfsync always and everysec) and raw PostgreSQL COPY. JetStream through nats-py is in
strata-bench itself (natspy.*). Prints one table: every workload, Strata's backends and the
peers side by side, with each peer's ratio to Strata's embedded store.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid

PAYLOAD = "x" * 180  # ~200-byte events, like strata-bench's


def timed(count, body):
    start = time.perf_counter()
    body()
    return count / (time.perf_counter() - start)


# --- eventsourcing -------------------------------------------------------------------------------

from eventsourcing.application import Application  # noqa: E402
from eventsourcing.domain import Aggregate, event  # noqa: E402


class Counter(Aggregate):
    """The aggregate every eventsourcing workload saves and replays."""

    @event("Created")
    def __init__(self):
        self.count = 0

    @event("Incremented")
    def increment(self, payload: str):
        self.count += 1


class Counters(Application):
    pass


def eventsourcing_results(label, env, events):
    """Batched appends, single durable appends (optimistic concurrency on the version), stream
    reads, reads of all (the notification log, as a catch-up reads it) and typed replay."""
    app = Counters(env=env)
    results = {}
    batches = max(1, events // 1000)
    ids = []

    def batched():
        for _ in range(batches):
            counter = Counter()
            for _ in range(999):
                counter.increment(PAYLOAD)
            app.save(counter)
            ids.append(counter.id)
    results[f"{label}.append.batch1000"] = timed(batches * 1000, batched)

    singles = min(2000, events)

    def single():
        counter = Counter()
        app.save(counter)
        for _ in range(singles - 1):
            counter.increment(PAYLOAD)
            app.save(counter)
    results[f"{label}.append.single"] = timed(singles, single)

    def read_streams():
        for aggregate_id in ids:
            list(app.recorder.select_events(aggregate_id))
    results[f"{label}.read.stream"] = timed(len(ids) * 1000, read_streams)

    def read_all():
        start, seen = 1, 0
        while True:
            page = app.recorder.select_notifications(start=start, limit=1000)
            if not page:
                break
            seen += len(page)
            start = page[-1].id + 1
    total = batches * 1000 + singles
    results[f"{label}.read.all"] = timed(total, read_all)

    def replay():
        for aggregate_id in ids:
            app.repository.get(aggregate_id)
    results[f"{label}.replay.typed"] = timed(len(ids) * 1000, replay)
    app.close()
    return results


# --- Redis Streams -------------------------------------------------------------------------------

def redis_benchmark(port, *args):
    out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-q", *args],
                         capture_output=True, text=True, check=True).stdout
    found = re.findall(r"([0-9.]+) requests per second", out)
    if not found:
        raise SystemExit(f"redis-benchmark said: {out}")
    return float(found[-1])


def redis_results(label, port, events):
    subprocess.run(["redis-cli", "-p", str(port), "DEL", "bench"], capture_output=True, check=True)
    results = {}
    results[f"{label}.xadd.pipelined1000"] = redis_benchmark(port, "-n", str(events), "-c", "1", "-P", "1000",
                                                             "XADD", "bench", "*", "data", PAYLOAD)
    results[f"{label}.xadd.single"] = redis_benchmark(port, "-n", str(min(2000, events)), "-c", "1", "-P", "1",
                                                      "XADD", "bench", "*", "data", PAYLOAD)
    # Each XRANGE returns 1000 entries: requests/s x 1000 = events/s.
    results[f"{label}.xrange1000"] = 1000 * redis_benchmark(port, "-n", "200", "-c", "1",
                                                            "XRANGE", "bench", "-", "+", "COUNT", "1000")
    return results


# --- raw PostgreSQL COPY -------------------------------------------------------------------------

def copy_results(url, events):
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_peer_copy")
        conn.execute("CREATE TABLE bench_peer_copy (position bigserial PRIMARY KEY, stream text, revision bigint, "
                     "id uuid UNIQUE, type text, data bytea, UNIQUE (stream, revision))")
        rows = [(f"s-{i % 1000}", i // 1000 + 1, uuid.uuid4(), "tick", PAYLOAD.encode()) for i in range(events)]

        def copy():
            with conn.cursor() as cur:
                with cur.copy("COPY bench_peer_copy (stream, revision, id, type, data) FROM STDIN") as c:
                    for row in rows:
                        c.write_row(row)
        value = timed(events, copy)
        conn.execute("DROP TABLE bench_peer_copy")
    return {"postgres.copy": value}


# --- the table -----------------------------------------------------------------------------------

ROWS = [
    # workload, Strata embedded, Strata's SQLite backend, peers
    ("batched appends (1000 per batch), no fsync", "append.batch1000.none", "sqlite.append.batch1000",
     ["es-sqlite.append.batch1000", "redis-everysec.xadd.pipelined1000"]),
    ("batched appends (1000 per batch), durable", "append.batch1000.fsync", "sqlite.append.batch1000.fsync",
     ["es-postgres.append.batch1000", "postgres.copy", "redis-always.xadd.pipelined1000"]),
    ("single durable appends", "append.single.c1.fsync", "sqlite.append.batch1.fsync",
     ["es-sqlite.append.single", "es-postgres.append.single", "redis-always.xadd.single", "natspy.publish.c1"]),
    ("read a stream", "read.stream", None, ["es-sqlite.read.stream", "es-postgres.read.stream"]),
    ("read all / catch up", "read.all", "sqlite.read.all",
     ["es-sqlite.read.all", "es-postgres.read.all", "redis-everysec.xrange1000"]),
    ("typed aggregate replay", "model.replay.typed", None, ["es-sqlite.replay.typed", "es-postgres.replay.typed"]),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--postgres")
    parser.add_argument("--redis-always", type=int)
    parser.add_argument("--redis-everysec", type=int)
    parser.add_argument("--strata", help="strata-bench --json output")
    parser.add_argument("--out")
    args = parser.parse_args()

    peers = {}
    with tempfile.TemporaryDirectory() as scratch:
        peers.update(eventsourcing_results("es-sqlite", {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": os.path.join(scratch, "es.db")}, args.events))
    if args.postgres:
        m = re.match(r"postgres(?:ql)?://([^:@/]+)(?::([^@/]*))?@([^:/]+):(\d+)/(\w+)", args.postgres)
        if not m:
            raise SystemExit(f"--postgres must be postgres://user[:password]@host:port/db, not {args.postgres}")
        user, password, host, port, _ = m.groups()
        import psycopg
        # A database of the peers' own, made afresh.
        db = "bench_peers"
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db}")
            conn.execute(f"CREATE DATABASE {db}")
        args.postgres = args.postgres.rsplit("/", 1)[0] + "/" + db
        peers.update(eventsourcing_results("es-postgres", {
            "PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": db, "POSTGRES_HOST": host,
            "POSTGRES_PORT": port, "POSTGRES_USER": user, "POSTGRES_PASSWORD": password or ""}, args.events))
        peers.update(copy_results(args.postgres, args.events))
    if args.redis_always:
        peers.update(redis_results("redis-always", args.redis_always, args.events))
    if args.redis_everysec:
        peers.update(redis_results("redis-everysec", args.redis_everysec, args.events))

    strata = {}
    if args.strata:
        with open(args.strata) as f:
            for result in json.load(f).get("results", []):
                strata[result["name"]] = result["value"]
    every = {**strata, **peers}
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"events": args.events, "peers": peers, "strata": strata}, f, indent=2, sort_keys=True)

    def show(name):
        return f"{every[name]:,.0f}" if name in every else "-"
    print(f"{'workload':44} {'Strata':>12} {'Strata SQLite':>14}  peers (events/s, and Strata embedded / peer)")
    for title, embedded, sqlite, peer_names in ROWS:
        cells = []
        for peer in peer_names:
            if peer in every:
                ratio = f" ({every[embedded] / every[peer]:.1f}x)" if embedded in every and every[peer] > 0 else ""
                cells.append(f"{peer} {every[peer]:,.0f}{ratio}")
        print(f"{title:44} {show(embedded):>12} {show(sqlite) if sqlite else '-':>14}  " + "; ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
