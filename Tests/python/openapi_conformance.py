"""Checks that the server answers as docs/openapi.yaml says, with schemathesis (PyPI).

Starts `strata serve` on a memory store with an admin key on a free loopback port, runs
schemathesis against the served /openapi.yaml (response status codes, content types, response
schemas and headers, no server errors, schema-violating requests refused), then stops the
server. The endless endpoints (SSE and WebSocket subscriptions, the /wait long poll) are left
to the Swift and Python tests, which read them with bounded waits.

Usage: python3 Tests/python/openapi_conformance.py PATH/TO/strata
"""
import json
import os
import signal
import subprocess
import sys

KEY = "conformance-admin-key-0123456789"


def main():
    strata = sys.argv[1]
    env = dict(os.environ, STRATA_API_KEYS=json.dumps([{"name": "admin", "key": KEY, "scopes": ["admin"]}]))
    server = subprocess.Popen([strata, "serve", "--store", "memory:", "--port", "0"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline().strip()
        if not line.startswith("listening "):
            print(f"openapi conformance: 0 passed, 1 failed (server said {line!r})")
            return 1
        base = line.split(" ", 1)[1]
        checks = ",".join(["not_a_server_error", "status_code_conformance", "content_type_conformance",
                           "response_schema_conformance", "response_headers_conformance", "negative_data_rejection"])
        command = ["st", "run", base + "/openapi.yaml", "-H", f"Authorization: Bearer {KEY}",
                   "--checks", checks, "--max-examples", "10", "--generation-deterministic",
                   "--exclude-path", "/wait", "--exclude-path-regex", "subscribe", "--request-timeout", "10",
                   "--no-color"]
        result = subprocess.run(command, timeout=600, capture_output=True, text=True)
        tail = result.stdout.strip().splitlines()[-12:]
        if result.returncode != 0:
            print(result.stdout[-20000:])
        else:
            print("\n".join(tail))
        ok = result.returncode == 0
        print(f"openapi conformance: {1 if ok else 0} passed, {0 if ok else 1} failed")
        return 0 if ok else 1
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
