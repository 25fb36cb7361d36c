#!/usr/bin/env bash
# Strata side by side with what users would pick instead (docs/BENCHMARKS.md, "Peers"), in one
# run on this machine: installs the peers when missing (Debian's redis-server; Python
# `eventsourcing`, psycopg and nats-py in a virtual environment under .build/), starts a private
# PostgreSQL cluster, nats-server and two redis-servers (appendfsync always and everysec) on
# loopback, runs strata-bench's matching workloads and scripts/bench_peers.py, prints one table,
# and stops every server it started.
#
#   scripts/bench-peers.sh [--events N] [--quick] [--strata-bench PATH] [--out DIR]
#
#   --events N          events per peer workload (default 100000)
#   --quick             strata-bench's smaller run (a smoke test of the script, not figures)
#   --strata-bench PATH a built strata-bench (default: swift build -c release --product strata-bench)
#   --out DIR           keep strata.json and peers.json there (default: a temporary directory)
#
# On demand only: it is never part of scripts/test.sh. Quote its figures with the machine line
# strata-bench prints, and compare ratios from one run.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
events=100000
quick=()
bench=""
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --events) events="$2"; shift 2 ;;
    --quick) quick=(--quick); shift ;;
    --strata-bench) bench="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: scripts/bench-peers.sh [--events N] [--quick] [--strata-bench PATH] [--out DIR]" >&2; exit 2 ;;
  esac
done
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server redis-tools
fi
scripts/nats.sh >/dev/null
venv="$ROOT/.build/peers-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check 'eventsourcing[postgres]' 'psycopg[binary]' nats-py
if [ -z "$bench" ]; then
  swift build -c release --product strata-bench
  bench="$ROOT/.build/release/strata-bench"
fi
work="$(mktemp -d)"
[ -n "$out" ] || out="$work"
mkdir -p "$out"
pids=()
pg_dir=""
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  [ -n "$pg_dir" ] && scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true
  rm -rf "$work/servers"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {  # bounded: 20 s
  for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "nothing listens on 127.0.0.1:$1" >&2; exit 1
}
eval "$(scripts/postgres.sh start)"
pg_dir="$STRATA_TEST_POSTGRES_DIR"
mkdir -p "$work/servers/nats" "$work/servers/always" "$work/servers/everysec"
nats_port="$(free_port)"
"$(command -v nats-server || echo /usr/sbin/nats-server)" -js -a 127.0.0.1 -p "$nats_port" -sd "$work/servers/nats" >"$work/servers/nats.log" 2>&1 &
pids+=($!)
always="$(free_port)"; everysec="$(free_port)"
redis-server --bind 127.0.0.1 --port "$always" --appendonly yes --appendfsync always --save '' --dir "$work/servers/always" >"$work/servers/always.log" 2>&1 &
pids+=($!)
redis-server --bind 127.0.0.1 --port "$everysec" --appendonly yes --appendfsync everysec --save '' --dir "$work/servers/everysec" >"$work/servers/everysec.log" 2>&1 &
pids+=($!)
for port in "$nats_port" "$always" "$everysec"; do wait_port "$port"; done

# Strata's side: the embedded store, its SQLite backend, and nats-py publishing to JetStream.
PATH="$venv/bin:$PATH" "$bench" --json "${quick[@]}" --work-dir "$work" \
  --only append.batch1000 --only append.single.c1 --only read.all --only read.stream --only sqlite. \
  --only model.replay.typed --only natspy.publish.c1 \
  --postgres "$STRATA_TEST_POSTGRES_URL" --nats "nats://127.0.0.1:$nats_port" > "$out/strata.json"
"$venv/bin/python" scripts/bench_peers.py --events "$events" --postgres "$STRATA_TEST_POSTGRES_URL" \
  --redis-always "$always" --redis-everysec "$everysec" --strata "$out/strata.json" --out "$out/peers.json"
echo "results: $out/strata.json $out/peers.json"
