#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ (docs/FUZZING.md) and runs each for a time or a number
# of executions; fails on any crash, hang (-timeout), leak (LeakSanitizer) or out-of-memory.
#
#   scripts/fuzz.sh [--smoke | --seconds N | --runs N] [--debug | --release] [--no-build] [target...]
#
#   --replay     each target runs every committed seed once, built in debug (CI: deterministic)
#   --smoke      each target for 8 s, built in debug (a debug build is about half a release one)
#   --debug, --release   the build configuration (default release, for executions per second)
#   --seconds N  each target for N seconds (default 60)
#   --runs N     each target for N executions (e.g. --runs 10000000)
#   target       FuzzRecord, FuzzSegment, … (default: every target in Fuzz/Sources but FuzzSupport)
#
# New corpus items go to a temporary directory, never into the committed seeds (Fuzz/corpus).
# Reproducers of failures are kept under .build-fuzz/artifacts/<target>/ and printed; rerun one
# with `.build-fuzz/release/<target> <file>`.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

seconds=60
runs=""
build=1
config=""
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) seconds=8; [ -n "$config" ] || config=debug; shift ;;
    --replay) runs=0; [ -n "$config" ] || config=debug; shift ;;
    --debug) config=debug; shift ;;
    --release) config=release; shift ;;
    --seconds) seconds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  for d in Fuzz/Sources/Fuzz*; do
    name=$(basename "$d")
    [ "$name" = FuzzSupport ] || targets+=("$name")
  done
fi

# System libraries the root package links (as in scripts/test.sh).
missing=()
for pkg in zlib1g-dev libsqlite3-dev; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

[ -n "$config" ] || config=release
scratch=.build-fuzz
if [ "$build" = 1 ]; then
  started=$(date +%s)
  # Every module is instrumented (coverage for libFuzzer, AddressSanitizer); -enable-testing lets
  # the targets reach internal decoders with @testable import; -parse-as-library because
  # libFuzzer, not the target, provides main.
  nice -n 10 swift build --package-path Fuzz --scratch-path "$scratch" -c "$config" \
      -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -enable-testing 2>&1 \
      | grep -E "error:|Compiling Fuzz|Build complete|Build of"
  if [ "${PIPESTATUS[0]}" -ne 0 ] || [ ! -x "$scratch/$config/${targets[0]}" ]; then echo "fuzz build failed" >&2; exit 1; fi
  echo "build: $(( $(date +%s) - started )) s"
fi

# Swift's crash backtracer would wait for a debugger-like handshake inside libFuzzer's crash
# handler: turn it off and let libFuzzer and ASan report.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:handle_abort=1:symbolize=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$PWD/Fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

work=$(mktemp -d /tmp/strata-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
failed=0
summary=()
for target in "${targets[@]}"; do
  bin="$scratch/$config/$target"
  seeds="Fuzz/corpus/$target"
  artifacts="$scratch/artifacts/$target"
  mkdir -p "$work/$target" "$artifacts"
  [ -d "$seeds" ] || seeds=""
  if [ -n "$runs" ]; then limit=(-runs="$runs"); else limit=(-max_total_time="$seconds"); fi
  log="$work/$target.log"
  nice -n 10 "$bin" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$work/$target" $seeds >"$log" 2>&1
  status=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  if [ -z "$execs" ]; then execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#'); fi
  if [ $status -eq 0 ]; then
    result=ok
  else
    failed=1
    kind=$(grep -oE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer): [a-z-]+' "$log" | head -1)
    reproducer=$(grep -oE 'Test unit written to [^ ]+' "$log" | tail -1 | sed 's/Test unit written to //')
    result="FAILED (${kind:-exit $status}) reproducer: ${reproducer:-none}"
    echo "---- $target: last lines of its log ----"
    grep -vE '^#[0-9]+.*(NEW|REDUCE|pulse|RELOAD)' "$log" | tail -40
    cp "$log" "$artifacts/last.log"
  fi
  line=$(printf '%-20s executions %10s  exec/s %7s  %s' "$target" "${execs:-?}" "${rate:-?}" "$result")
  echo "$line"
  summary+=("$line")
done
echo "==== fuzz summary ===="
printf '%s\n' "${summary[@]}"
if [ $failed -ne 0 ]; then echo "fuzz: FAILED"; exit 1; fi
echo "fuzz: all ${#targets[@]} targets passed"
