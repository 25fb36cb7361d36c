#!/usr/bin/env bash
# Runs the test suite under a sanitizer (issue 14):
#
#   scripts/sanitize.sh thread  [FILTER…]   ThreadSanitizer (scratch path .build-tsan)
#   scripts/sanitize.sh address [FILTER…]   AddressSanitizer (scratch path .build-asan)
#
# FILTERs are passed to `swift test --filter` (several are OR-ed), e.g.
#   scripts/sanitize.sh thread StrataLogTests StrataConsumersTests StrataServerTests StrataJetStreamTests
# Each sanitizer builds into its own scratch path, so it never disturbs .build. The services the
# tests need are set up as scripts/test.sh does: a private PostgreSQL cluster (stopped on exit) and
# nats-server. The output goes to the terminal and to .build-<san>/sanitize.log; the script ends
# with the number of sanitizer reports found and exits non-zero when there is any, or when a test
# failed.
#
# ThreadSanitizer reads scripts/tsan-suppressions.txt (each entry says why it is there). Child
# processes the tests start (test writers, the CLI) are built with the sanitizer too and report
# into the same log.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

kind="${1:-}"
case "$kind" in
  thread) scratch=.build-tsan ;;
  address) scratch=.build-asan ;;
  *) echo "usage: scripts/sanitize.sh thread|address [FILTER…]" >&2; exit 2 ;;
esac
shift

filters=()
for f in "$@"; do filters+=(--filter "$f"); done

# System libraries and services, as scripts/test.sh sets them up.
missing=()
for pkg in zlib1g-dev libsqlite3-dev gzip; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
export STRATA_CRASH_ROUNDS="${STRATA_CRASH_ROUNDS:-20}"
eval "$(scripts/postgres.sh start --fast)"
trap 'scripts/postgres.sh stop "$STRATA_TEST_POSTGRES_DIR"' EXIT
scripts/nats.sh
export STRATA_NATS_KILL_EVENTS="${STRATA_NATS_KILL_EVENTS:-200}"

# halt_on_error=0: report every race and go on; the summary below counts them.
# history_size: deeper stacks for the second access of a report.
export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 history_size=4 suppressions=$PWD/scripts/tsan-suppressions.txt ${TSAN_OPTIONS:-}"
# detect_leaks=0: Swift's runtime metadata caches and the test runner's globals are reported as
# leaks at exit and say nothing about Strata.
export ASAN_OPTIONS="detect_leaks=0 halt_on_error=0 ${ASAN_OPTIONS:-}"

mkdir -p "$scratch"
log="$scratch/sanitize.log"
started=$(date +%s)
# Product by product, as scripts/test.sh does: `--build-tests` would also build every package
# plugin's tools (swift-protobuf's protoc, minutes of C++) that no test uses.
for product in strata strata-bench strata-codegen StrataTestChild AccountsExample StrataPackageTests; do
  swift build --product "$product" --sanitize="$kind" --scratch-path "$scratch" 2>&1 | tail -n 3
done
built=$(date +%s)
set +e
swift test --skip-build --disable-xctest --sanitize="$kind" --scratch-path "$scratch" ${filters[@]+"${filters[@]}"} 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
finished=$(date +%s)
reports=$(grep -c -E "^(WARNING: ThreadSanitizer|==[0-9]+==ERROR: AddressSanitizer)" "$log" || true)
echo "sanitize.sh $kind: build $((built - started)) s, tests $((finished - built)) s, exit $status, $reports sanitizer report(s) (log: $log)"
if [ "$reports" -gt 0 ]; then
  grep -E "^(WARNING: ThreadSanitizer|==[0-9]+==ERROR: AddressSanitizer|SUMMARY:)" "$log" | sort | uniq -c | sort -rn | head -n 40
  exit 1
fi
exit "$status"
