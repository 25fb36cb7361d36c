#!/usr/bin/env python3
"""Drives `strata serve` the way an outside user would: plain HTTP from the standard library.

Starts the server on a free port over a memory store, then appends, reads, subscribes (SSE,
with a live event and a Last-Event-ID resume), ingests (twice, to check idempotency), checks an
error body, reads a document's history and past, restores it, reads CDC changes recorded by
`strata documents put --cdc` through the server (as a page and over SSE), and stops the server with SIGTERM (exit status 0).
Then persistent subscriptions: a server over a SQLite store (which keeps its groups in its own
file) creates a group, reads with a wait an append satisfies, acks, nacks (retry, park), pages the
parked events, replays them, reads the info and the metrics, and after a restart over the same
file still lists the group. Prints 'N passed, N failed'.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
import uuid

import yaml
from openapi_spec_validator import validate as validate_spec

STRATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", ".build", "debug", "strata")
passed = failed = 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name} {detail}", file=sys.stderr)


def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def sse(url, headers=None, until=None, on_message=None):
    """Reads SSE messages until `until(messages)` is true; returns them as dicts."""
    request = urllib.request.Request(url, headers=headers or {})
    messages, current = [], {}
    with urllib.request.urlopen(request, timeout=10) as response:
        check("SSE content type", response.headers["Content-Type"] == "text/event-stream")
        while True:
            line = response.readline().decode().rstrip("\n")
            if line == "":
                if current:
                    current.setdefault("event", "message")
                    messages.append(current)
                    if on_message:
                        on_message(messages)
                    if until(messages):
                        return messages
                current = {}
            elif line.startswith(":") or line.startswith("retry:"):
                continue
            else:
                field, _, value = line.partition(":")
                current[field] = value[1:] if value.startswith(" ") else value


def serve(store):
    """Starts `strata serve` over `store`; returns the process and its base URL."""
    server = subprocess.Popen([STRATA, "serve", "--store", store, "--create", "--port", "0"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    line = server.stdout.readline().strip()
    check("announces its URL", line.startswith("listening http://"), line)
    return server, line.split(" ", 1)[-1]


def stop(server, what):
    server.send_signal(signal.SIGTERM)
    try:
        code = server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        code = None
    check(f"{what}: SIGTERM exits 0", code == 0, f"exit {code}: {server.stderr.read()}")


def persistent_subscriptions(store):
    """KurrentDB-style persistent subscriptions over HTTP (docs/SERVER.md), on a SQLite store."""
    server, base = serve(store)
    try:
        group = base + "/subscriptions/py-orders/billing"
        status, body = call("PUT", group, {"settings": {"maxRetryCount": 1, "minCheckpointCount": 1, "checkpointAfterMilliseconds": 0}})
        check("create a group", status == 201 and body["settings"]["maxRetryCount"] == 1 and body["settings"]["bufferSize"] == 500, body)
        status, body = call("PUT", group, {})
        check("create it again is 409", status == 409 and body["error"]["code"] == "subscription-exists", body)
        status, body = call("PUT", base + "/subscriptions/py-orders/bad", {"settings": {"readBatchSize": 0}})
        check("bad settings are 400", status == 400 and body["error"]["code"] == "invalid-argument", body)
        status, body = call("POST", group + "/read?count=1")
        check("a read without a consumer is 400", status == 400, body)

        # A read that waits, answered by an append made while it waits.
        appended = {}

        def append_soon():
            appended["answer"] = call("POST", base + "/streams/py-orders", {"events": [
                {"type": "placed", "data": {}}, {"type": "paid", "data": {}}, {"type": "shipped", "data": {}}]})
        connected = threading.Event()

        def wait_for_connection():
            for _ in range(400):
                status, info = call("GET", group + "/info")
                if status == 200 and info["connections"]:
                    connected.set()
                    append_soon()
                    return
                threading.Event().wait(0.025)
        helper = threading.Thread(target=wait_for_connection)
        helper.start()
        status, body = call("POST", group + "/read?consumer=py&count=10&wait=8000")
        helper.join()
        check("the append came while the read waited", connected.is_set() and appended.get("answer", (0,))[0] == 200, appended)
        messages = body["messages"] if status == 200 else []
        check("a read with wait returns the appended events", [m["event"]["type"] for m in messages] == ["placed", "paid", "shipped"]
              and [m["retryCount"] for m in messages] == [0, 0, 0], body)
        ids = [m["event"]["id"] for m in messages]
        if len(ids) == 3:
            status, _ = call("POST", group + "/ack", {"consumer": "py", "ids": [ids[0]]})
            check("ack", status == 204)
            status, _ = call("POST", group + "/nack", {"consumer": "py", "ids": [ids[1]], "action": "retry", "reason": "later"})
            check("nack retry", status == 204)
            status, body = call("POST", group + "/read?consumer=py&count=10")
            check("the retried event comes back with retryCount 1", status == 200
                  and [(m["event"]["id"], m["retryCount"]) for m in body["messages"]] == [(ids[1], 1)], body)
            status, _ = call("POST", group + "/nack", {"consumer": "py", "ids": [ids[1], ids[2]], "action": "park", "reason": "bad"})
            check("nack park", status == 204)
            status, body = call("GET", group + "/parked?limit=1")
            check("the parked page", status == 200 and [p["type"] for p in body["parked"]] == ["paid"] and "next" in body, body)
            status, body = call("GET", group + f"/parked?after={body.get('next', 0)}")
            check("the parked page continues", status == 200 and [p["type"] for p in body["parked"]] == ["shipped"], body)
            status, body = call("GET", group + "/info")
            check("info", status == 200 and body["parkedCount"] == 2 and body["totalAcked"] == 1 and body["totalNacked"] == 3
                  and body["lastCheckpoint"] == 3, body)
            status, body = call("POST", group + "/replayParked")
            check("replay parked", status == 200 and body == {"queued": 2}, body)
            status, body = call("POST", group + "/read?consumer=py&count=10")
            replayed = [m["event"]["id"] for m in body.get("messages", [])]
            check("replayed events are handed out again", replayed == [ids[1], ids[2]], body)
            call("POST", group + "/ack", {"consumer": "py", "ids": replayed})
            status, body = call("GET", group + "/info")
            check("acked replays leave the parked set", status == 200 and body["parkedCount"] == 0 and body["totalAcked"] == 3, body)
        with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
            metrics = response.read().decode()
        check("metrics per group", 'strata_persistent_subscription_acked{subscription="py-orders::billing"} 3' in metrics, metrics[-2000:])
    finally:
        stop(server, "the SQLite server")
    # The group lives in the SQLite file: a new server lists it, then deletes it.
    server, base = serve(store)
    try:
        status, body = call("GET", base + "/subscriptions")
        check("the group outlives the server", status == 200 and [(s["stream"], s["group"]) for s in body["subscriptions"]] == [("py-orders", "billing")], body)
        status, _ = call("DELETE", base + "/subscriptions/py-orders/billing")
        check("delete", status == 204)
        status, body = call("GET", base + "/subscriptions/py-orders/billing/info")
        check("deleted group is 404", status == 404 and body["error"]["code"] == "subscription-not-found", body)
    finally:
        stop(server, "the second SQLite server")


def main():
    server = subprocess.Popen([STRATA, "serve", "--store", "memory:", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline().strip()
        check("announces its URL", line.startswith("listening http://"), line)
        base = line.split(" ", 1)[1]

        status, body = call("GET", base + "/health/ready")
        check("ready", status == 200 and body["status"] == "ready", body)

        status, body = call("POST", base + "/streams/py-order-1", {
            "expectedRevision": "no-stream",
            "events": [{"type": "placed", "data": {"total": 42}}, {"type": "paid", "data": {"amount": 42}, "metadata": {"by": "py"}}],
        })
        check("append", status == 200 and body["lastRevision"] == 2 and body["lastPosition"] == 2, body)

        status, body = call("POST", base + "/streams/py-order-1", {"expectedRevision": 1, "events": [{"type": "x", "data": {}}]})
        check("conflict is 409 with the actual revision", status == 409 and body["error"]["code"] == "wrong-expected-revision"
              and body["error"]["details"]["actual"] == 2, body)

        status, body = call("GET", base + "/streams/py-order-1?from=start&limit=10")
        check("read a stream", status == 200 and [e["type"] for e in body["events"]] == ["placed", "paid"], body)
        check("embedded JSON data", body["events"][0]["data"] == {"total": 42} and body["events"][1]["metadata"] == {"by": "py"}, body)
        status, body = call("GET", base + "/streams/$all?direction=backward&limit=1")
        check("read $all backward", status == 200 and [e["position"] for e in body["events"]] == [2] and body["next"] == 1, body)

        def append_live(messages):
            if len(messages) == 3 and messages[-1]["event"] == "caught-up":
                threading.Thread(target=call, args=("POST", base + "/streams/py-live", {"events": [{"type": "live", "data": {}}]})).start()

        messages = sse(base + "/subscribe/$all", until=lambda m: len(m) == 4, on_message=append_live)
        check("SSE catch-up, caught-up, then live", [m["event"] for m in messages] == ["message", "message", "caught-up", "message"], messages)
        check("SSE ids are positions", [m.get("id") for m in messages] == ["1", "2", None, "3"], messages)
        check("SSE data is the event", json.loads(messages[3]["data"])["stream"] == "py-live", messages[3])

        resumed = sse(base + "/subscribe/$all", headers={"Last-Event-ID": "2"}, until=lambda m: m[-1]["event"] == "caught-up")
        check("Last-Event-ID resumes after it", [m.get("id") for m in resumed] == ["3", None], resumed)

        batch = {"events": [
            {"id": str(uuid.uuid4()), "type": "page-view", "source": "web", "data": {"path": "/"}, "ts": "2026-01-01T00:00:00Z"},
            {"id": str(uuid.uuid4()), "type": "click", "stream": "py-clicks", "data": {"x": 1}},
        ]}
        status, body = call("POST", base + "/ingest", batch)
        check("ingest", status == 200 and body == {"accepted": 2, "duplicates": 0}, body)
        status, body = call("POST", base + "/ingest", batch)
        check("ingest is idempotent by id", status == 200 and body == {"accepted": 0, "duplicates": 2}, body)
        status, body = call("GET", base + "/streams/ingest-web")
        check("ingest default stream and ts in metadata", status == 200 and body["events"][0]["metadata"] == {"ts": "2026-01-01T00:00:00Z"}, body)

        status, body = call("POST", base + "/streams/bad", {"events": "nope"})
        check("malformed request is 400 with a JSON error", status == 400 and body["error"]["code"] == "malformed-json", body)
        status, body = call("GET", base + "/stats")
        check("stats", status == 200 and body["headPosition"] == 5, body)

        docs = base + "/documents/pyusers"
        status, body = call("PUT", docs + "/ada", {"name": "Ada", "age": 36})
        check("document put", status == 200 and body["data"] == {"id": "ada", "name": "Ada", "age": 36} and body["meta"]["changes"] == 1, body)
        status, body = call("POST", docs, {"name": "Bob", "age": 17})
        check("document insert", status == 201 and len(body["data"]["id"]) == 36, body)
        status, body = call("POST", docs + "/query", {"filter": {"age": {"$gte": 18}}})
        check("document query", status == 200 and [d["data"]["name"] for d in body["documents"]] == ["Ada"], body)
        status, body = call("GET", docs + "/nobody")
        check("missing document is 404", status == 404 and body["error"]["code"] == "document-not-found", body)

        # The past: history, a read at a position, a restore; CDC changes written by the CLI.
        status, body = call("GET", docs + "/ada/history")
        check("document history", status == 200 and [v["operation"] for v in body["versions"]] == ["put"]
              and body["versions"][0]["data"]["age"] == 36, body)
        first = body["versions"][0]["position"]
        call("PATCH", docs + "/ada", {"age": 37})
        status, body = call("GET", docs + f"/ada?at={first}")
        check("document at a position", status == 200 and body["data"]["age"] == 36 and body["meta"]["changes"] == 1, body)
        status, body = call("GET", docs + "/ada?at=yesterday")
        check("a bad point is 400", status == 400 and body["error"]["code"] == "invalid-argument", body)
        status, body = call("POST", docs + "/restore", {"at": first})
        check("restore to a position", status == 200 and body["written"] == 1 and body["deleted"] == 1, body)
        status, body = call("GET", docs + "/ada")
        check("restored document", status == 200 and body["data"]["age"] == 36 and body["meta"]["changes"] == 3, body)
        cli = subprocess.run([STRATA, "documents", "put", "pycdc", "k1", '{"v":1}', "--cdc", "--store", base],
                             capture_output=True, text=True, timeout=120)
        check("strata documents put --cdc through the server", cli.returncode == 0, cli.stderr)
        status, body = call("GET", base + "/documents/pycdc/changes")
        check("changes", status == 200 and [c["type"] for c in body["changes"]] == ["collection.insert"]
              and body["changes"][0]["doc"] == {"id": "k1", "v": 1}, body)
        bookmark = body["changes"][0]["bookmark"] if status == 200 and body["changes"] else None
        messages = sse(base + "/documents/pycdc/changes/subscribe", until=lambda m: any(x["event"] == "caught-up" for x in m))
        check("changes over SSE carry the bookmark as id", [m.get("id") for m in messages if m["event"] == "message"] == [str(bookmark)], messages)

        # The served OpenAPI document is valid OpenAPI 3.1 and lists the endpoints used here.
        with urllib.request.urlopen(base + "/openapi.yaml", timeout=10) as response:
            spec = yaml.safe_load(response.read())
        try:
            validate_spec(spec)
            check("openapi.yaml is valid OpenAPI", spec["openapi"].startswith("3.1"))
        except Exception as error:  # the validator's own error types
            check("openapi.yaml is valid OpenAPI", False, error)
        for path in ["/streams/{stream}", "/subscribe/{stream}", "/ingest", "/documents/{collection}/{key}", "/documents/{collection}/query",
                     "/documents/{collection}/{key}/history", "/documents/{collection}/changes", "/snapshots/{storeId}",
                     "/subscriptions", "/subscriptions/{stream}/{group}/read"]:
            check(f"openapi.yaml has {path}", path in spec["paths"])
        status, body = call("GET", base + "/subscriptions")
        check("no persistent subscriptions over a memory store without --subscriptions: 501", status == 501
              and body["error"]["code"] == "unsupported", body)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            code = None
        check("SIGTERM exits 0", code == 0, f"exit {code}: {server.stderr.read()}")
    with tempfile.TemporaryDirectory(prefix="strata-py-subscriptions-") as folder:
        persistent_subscriptions("sqlite:" + folder + "/events.db")
    print(f"python http: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
