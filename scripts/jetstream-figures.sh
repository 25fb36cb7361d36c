#!/usr/bin/env bash
# The JetStream figures of docs/JETSTREAM.md, "Memory and speed" (issue 18):
#
#   scripts/jetstream-figures.sh DESIGN STRATA_BINARY STORE [EVENTS]
#
# Against a nats-server on 127.0.0.1:14222 (`nats-server -js -p 14222 -sd DIR`), appends
# EVENTS (default 1,000,000) events of about 150 bytes in 1,000 streams to the JetStream store
# STORE with `strata append`, 10,000 lines a run, and at 100,000 and 1,000,000 events prints the
# open time and peak resident memory of `strata stats` (three times) and of `strata read '$all'`.
# Run it once per build (DESIGN names it in the output) on a fresh store each.
set -u
design=$1 bin=$2 store=$3 target=${4:-1000000}
url="nats://127.0.0.1:14222/$store?maxEventSize=900000"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work/chunk.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(10000):
        f.write(json.dumps({"stream": "s-%d" % (i % 1000), "type": "tick", "data": {"i": i, "pad": "x" * 60}}) + "\n")
PY
measure() { # label command…
  local label=$1; shift
  /usr/bin/time -f "%e s %M KiB" -o "$work/time" "$@" > /dev/null 2>&1 || { echo "$design $label: failed" >&2; exit 1; }
  echo "$design $label $(cat "$work/time")"
}
probe() {
  for i in 1 2 3; do measure "events=$1 open#$i" "$bin" stats --store "$url"; done
  measure "events=$1 read-all" "$bin" read '$all' --store "$url"
}
probe 0
n=0 leg=$(date +%s.%N)
while [ "$n" -lt "$target" ]; do
  "$bin" append x --store "$url" < "$work/chunk.jsonl" > /dev/null || { echo "$design: append failed at $n" >&2; exit 1; }
  n=$((n + 10000))
  if [ "$n" -eq 100000 ] || [ "$n" -eq 1000000 ]; then
    echo "$design appended up to $n: this leg $(echo "$(date +%s.%N) - $leg" | bc) s"
    probe "$n"
    leg=$(date +%s.%N)
  fi
done
