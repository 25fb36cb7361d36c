#!/usr/bin/env bash
# A private PostgreSQL cluster for Strata's tests and benchmarks: initdb in a temporary
# directory, listening on 127.0.0.1 only, on a free port, trust authentication on loopback (no
# password crosses the network, and nothing else can reach it).
#
#   scripts/postgres.sh start [--fast]   starts a cluster; prints shell `export` lines:
#                                        STRATA_TEST_POSTGRES_URL   postgres://postgres@127.0.0.1:PORT/postgres
#                                        STRATA_TEST_POSTGRES_DIR   the cluster's directory (data/, log, port)
#                                        STRATA_TEST_POSTGRES_DATA  the data directory
#                                        STRATA_TEST_POSTGRES_CTL   the pg_ctl binary
#                                        STRATA_TEST_POSTGRES_SCRIPT this script
#                                        STRATA_TEST_POSTGRES_PASSWORD_URL  a role that must give a password
#                                          (scram-sha-256), for the wrong-credentials test
#                                        --fast: fsync and synchronous_commit off (tests only)
#   scripts/postgres.sh restart DIR      fast restart (closes every connection), same port; starts a
#                                        halted cluster
#   scripts/postgres.sh halt DIR         stops the server (fast), keeps DIR (the connection-loss tests)
#   scripts/postgres.sh stop DIR         stops the cluster and removes DIR
#
# Typical use:  eval "$(scripts/postgres.sh start)"; …; scripts/postgres.sh stop "$STRATA_TEST_POSTGRES_DIR"
# PostgreSQL is installed (Debian package `postgresql`) when no server binaries are found.
# initdb refuses to run as root: as root, the cluster runs as the `postgres` user.
set -euo pipefail

SCRIPT="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"

find_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; fi
}

install_postgres() {
  echo "postgres.sh: installing PostgreSQL (apt-get install postgresql)" >&2
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2
}

# Runs a command as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The server outlives this script: it must not keep open the descriptors our caller gave us
# (a parent that waits for EOF on a pipe, or that detects our exit through one, would wait
# for ever).
close_inherited_fds() {
  local fd
  for fd in /proc/$$/fd/*; do
    fd="${fd##*/}"
    if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

start() {
  local fast=0
  [ "${1:-}" = "--fast" ] && fast=1
  local bin
  bin="$(find_bin)"
  if [ -z "$bin" ]; then
    install_postgres
    bin="$(find_bin)"
  fi
  [ -n "$bin" ] || { echo "postgres.sh: no PostgreSQL server binaries after installing" >&2; exit 1; }

  local dir
  dir="$(mktemp -d /tmp/strata-postgres.XXXXXX)"
  chmod 755 "$dir"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home "$dir" postgres
    chown postgres "$dir"
  fi
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2; exit 1; }

  # One role must authenticate with a password (the wrong-credentials test); every other
  # connection is trusted, and only loopback can connect at all.
  { echo "host all strata_password_test 127.0.0.1/32 scram-sha-256"; cat "$dir/data/pg_hba.conf"; } >"$dir/pg_hba.conf"
  cp "$dir/pg_hba.conf" "$dir/data/pg_hba.conf"
  rm "$dir/pg_hba.conf"

  local port options
  port="$(free_port)"
  echo "$port" >"$dir/port"
  options="-c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c max_connections=400 -c shared_buffers=128MB"
  if [ "$fast" = 1 ]; then
    options="$options -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  echo "$options" >"$dir/options"
  if [ "$(id -u)" = 0 ]; then chown postgres "$dir/port" "$dir/options"; fi
  close_inherited_fds
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -o "-p $port $options" -w -t 60 start >/dev/null || {
    cat "$dir/log" >&2; exit 1; }

  as_owner "$bin/psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE strata_password_test LOGIN PASSWORD 'strata-password-test'" \
    -c "GRANT CREATE ON DATABASE postgres TO strata_password_test" >/dev/null

  echo "export STRATA_TEST_POSTGRES_URL='postgres://postgres@127.0.0.1:$port/postgres'"
  echo "export STRATA_TEST_POSTGRES_DIR='$dir'"
  echo "export STRATA_TEST_POSTGRES_DATA='$dir/data'"
  echo "export STRATA_TEST_POSTGRES_CTL='$bin/pg_ctl'"
  echo "export STRATA_TEST_POSTGRES_SCRIPT='$SCRIPT'"
  echo "export STRATA_TEST_POSTGRES_PASSWORD_URL='postgres://strata_password_test:strata-password-test@127.0.0.1:$port/postgres'"
}

restart() {
  local dir="${1:?usage: postgres.sh restart DIR}"
  local bin
  bin="$(find_bin)"
  close_inherited_fds
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -o "-p $(cat "$dir/port") $(cat "$dir/options")" -m fast -w -t 60 restart >/dev/null
}

halt() {
  local dir="${1:?usage: postgres.sh halt DIR}"
  local bin
  bin="$(find_bin)"
  as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
}

stop() {
  local dir="${1:?usage: postgres.sh stop DIR}"
  case "$dir" in /tmp/strata-postgres.*) ;; *) echo "postgres.sh: refusing to remove $dir" >&2; exit 1 ;; esac
  local bin
  bin="$(find_bin)"
  if [ -f "$dir/data/postmaster.pid" ] && [ -n "$bin" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 60 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  restart) shift; restart "$@" ;;
  halt) shift; halt "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: postgres.sh start [--fast] | restart DIR | halt DIR | stop DIR" >&2; exit 2 ;;
esac
