"""Checks that the server answers as docs/openapi.yaml says, with schemathesis (PyPI).

Starts `strata serve` on a `file:` store in a temporary folder (one that can scavenge and erase,
with a snapshots folder, so that every operation is served) with an admin key and a read-only key on a free
loopback port, runs schemathesis against the served /openapi.yaml once with each key (response
status codes, content types, response schemas and headers, no server errors, schema-violating
requests refused), then stops the server. With the read-only key every write must be answered
with a documented refusal (403), never a 5xx. The endless endpoints (SSE and WebSocket
subscriptions, the /wait long poll, persistent subscription reads, which may wait) are left to the Swift and Python tests, which read them
with bounded waits.

Usage: python3 Tests/python/openapi_conformance.py PATH/TO/strata
"""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile

ADMIN_KEY = "conformance-admin-key-0123456789"
READ_KEY = "conformance-read-only-key-012345"
CHECKS = ",".join(["not_a_server_error", "status_code_conformance", "content_type_conformance",
                   "response_schema_conformance", "response_headers_conformance", "negative_data_rejection"])


def schemathesis(base, key, label):
    """One schemathesis run with `key`; returns whether it passed."""
    command = ["st", "run", base + "/openapi.yaml", "-H", f"Authorization: Bearer {key}",
               "--checks", CHECKS, "--max-examples", "10", "--generation-deterministic",
               "--exclude-path", "/wait", "--exclude-path-regex", "subscribe|/read$", "--request-timeout", "10",
               "--no-color"]
    try:
        # In a scratch folder: schemathesis keeps a cache of failures in `.schemathesis/` of its
        # working directory, which must not land in the repository.
        with tempfile.TemporaryDirectory(prefix="strata-schemathesis-") as scratch:
            result = subprocess.run(command, timeout=600, capture_output=True, text=True, cwd=scratch)
    except subprocess.TimeoutExpired:
        print(f"== {label}: schemathesis did not finish within 600 s")
        return False
    print(f"== {label}")
    if result.returncode != 0:
        print(result.stdout[-20000:])
        print(result.stderr[-2000:])
    else:
        print("\n".join(result.stdout.strip().splitlines()[-12:]))
    return result.returncode == 0


def main():
    strata = sys.argv[1]
    keys = [{"name": "admin", "key": ADMIN_KEY, "scopes": ["admin"]}, {"name": "reader", "key": READ_KEY, "scopes": ["read"]}]
    env = dict(os.environ, STRATA_API_KEYS=json.dumps(keys))
    folder = tempfile.mkdtemp(prefix="strata-openapi-")
    server = subprocess.Popen([strata, "serve", "--store", "file:" + folder + "/store", "--create", "--port", "0",
                               "--snapshots", folder + "/snapshots", "--subscriptions", folder + "/subscriptions"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        ready, _, _ = select.select([server.stdout], [], [], 20)
        line = server.stdout.readline().strip() if ready else ""
        if not line.startswith("listening "):
            print(f"openapi conformance: 0 passed, 2 failed (server said {line!r})")
            return 1
        base = line.split(" ", 1)[1]
        results = [schemathesis(base, ADMIN_KEY, "admin key"), schemathesis(base, READ_KEY, "read-only key")]
        ok = sum(results)
        print(f"openapi conformance: {ok} passed, {len(results) - ok} failed")
        return 0 if ok == len(results) else 1
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
