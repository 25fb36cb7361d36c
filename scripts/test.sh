#!/usr/bin/env bash
# The one test command (README and .ci/run call it): installs what the tests need when it is
# missing, then builds and runs every test. Its last line is Swift Testing's summary.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="/opt/swift/usr/bin:$PATH"

# System libraries the package links: zlib (gzip segments) and SQLite (the SQLite backend and the
# benchmark baseline).
missing=()
for pkg in zlib1g-dev libsqlite3-dev gzip; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

# Headless Chromium for the admin page's browser test (which is skipped when it is missing).
if ! command -v chromium >/dev/null; then
  echo "installing chromium"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium; } \
    || echo "chromium could not be installed: the admin page browser test will be skipped"
fi

# Python packages for the lakehouse tests: duckdb runs the query builders' SQL over exported files,
# moto's S3 server receives S3 exports (STRATA_SKIP_DUCKDB=1 / STRATA_SKIP_MOTO=1 skip those tests).
if command -v python3 >/dev/null; then
  python3 -c 'import duckdb' 2>/dev/null || python3 -m pip install -q duckdb \
    || echo "duckdb could not be installed: set STRATA_SKIP_DUCKDB=1 to skip the DuckDB tests"
  command -v moto_server >/dev/null || python3 -m pip install -q 'moto[server]' \
    || echo "moto could not be installed: set STRATA_SKIP_MOTO=1 to skip the S3 test"
fi

# Small counts by default; raise them for soak runs, e.g.
#   STRATA_CRASH_ROUNDS=500 STRATA_PROPERTY_SEEDS=1...200 STRATA_PROPERTY_OPS=5000 scripts/test.sh
export STRATA_CRASH_ROUNDS="${STRATA_CRASH_ROUNDS:-20}"

# PostgreSQL for the StrataPostgres tests: a private cluster on a loopback port (installed when
# missing), stopped when this script exits, whether the tests pass or not.
eval "$(scripts/postgres.sh start --fast)"
trap 'scripts/postgres.sh stop "$STRATA_TEST_POSTGRES_DIR"' EXIT

# nats-server and nats-py for the JetStream tests, which start and stop their own servers.
scripts/nats.sh
export STRATA_NATS_KILL_EVENTS="${STRATA_NATS_KILL_EVENTS:-200}"

# The test bundle and the executables the tests run, product by product: `swift build
# --build-tests` would also build every package plugin's tools, among them swift-protobuf's
# protoc (C++, minutes on two cores), which nothing here uses (docs/KURRENTDB.md).
for product in strata strata-bench strata-codegen StrataTestChild AccountsExample StrataPackageTests; do
  swift build --product "$product"
done
# The HTTP server as an outside user sees it: plain Python (standard library only).
if [ $# -eq 0 ] && command -v python3 >/dev/null; then
  python3 -c "import yaml, openapi_spec_validator" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check openapi-spec-validator pyyaml
  python3 Tests/python/server_http_test.py "$(swift build --show-bin-path)/strata"
  # The server as a hostile client and a page of another origin see it (docs/SERVER.md,
  # "Security model"): loopback only, bounded in count and time.
  python3 Tests/python/hostile_clients_test.py "$(swift build --show-bin-path)/strata"
  python3 Tests/python/cors_browser_test.py "$(swift build --show-bin-path)/strata"
  # KurrentDB's own Python client (kurrentdbclient, pinned, in .build/kurrentdb-venv) against the
  # gRPC surface (docs/KURRENTDB.md). STRATA_SKIP_KURRENTDB=1 skips it.
  if [ "${STRATA_SKIP_KURRENTDB:-0}" != 1 ]; then
    python3 Tests/python/kurrentdb_client_test.py "$(swift build --show-bin-path)/strata"
  fi
  # Responses as docs/openapi.yaml describes them, checked by schemathesis.
  command -v st >/dev/null || python3 -m pip install --quiet --disable-pip-version-check schemathesis
  python3 Tests/python/openapi_conformance.py "$(swift build --show-bin-path)/strata"
fi
# Every libFuzzer target replays its committed seed corpus once (docs/FUZZING.md), built in debug
# with AddressSanitizer in its own scratch path: deterministic, so CI never fails on a random new
# finding; time-based fuzzing runs on demand (scripts/fuzz.sh --smoke / --seconds / --runs).
# STRATA_SKIP_FUZZ=1 skips it.
if [ $# -eq 0 ] && [ "${STRATA_SKIP_FUZZ:-0}" != 1 ]; then
  scripts/fuzz.sh --replay
fi
# The DocC catalog builds with warnings as errors (a broken symbol link fails); about 25 s cold,
# in its own scratch path. STRATA_SKIP_DOCS=1 skips it.
if [ $# -eq 0 ] && [ "${STRATA_SKIP_DOCS:-0}" != 1 ]; then
  scripts/docs.sh
fi
# Files kept for people to look at, such as the admin page test's screenshots (docs/SERVER.md).
echo "test artifacts: ${STRATA_TEST_ARTIFACTS:-.build/test-artifacts}/ (admin page screenshots in admin-page/)"
swift test --skip-build --disable-xctest "$@"
