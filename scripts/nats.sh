#!/usr/bin/env bash
# Installs what the JetStream tests need when it is missing: nats-server (the Debian package),
# openssl and nats-py (PyPI, the independent client of the interop test). The tests start and stop
# their own servers; they fail (never skip silently) when nats-server is missing, unless
# STRATA_NATS_UNAVAILABLE=1 says so.
set -euo pipefail
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi

if ! command -v nats-server >/dev/null && [ ! -x /usr/sbin/nats-server ]; then
  echo "installing nats-server"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nats-server
fi

# openssl makes the TLS test's self-signed certificate.
if ! command -v openssl >/dev/null; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openssl
fi

if command -v python3 >/dev/null && ! python3 -c "import nats.js" 2>/dev/null; then
  echo "installing nats-py"
  python3 -m pip install -q nats-py 2>/dev/null || python3 -m pip install -q --break-system-packages nats-py
fi
