#!/usr/bin/env python3
"""KurrentDB's own Python client against `strata serve --grpc-port` (issue 21, docs/KURRENTDB.md).

Installs `kurrentdbclient` (pinned, from PyPI) into a virtual environment this script creates
(.build/kurrentdb-venv), re-runs itself there, starts `strata serve` on loopback (a memory store,
persistent subscriptions kept in a temporary folder, the gRPC surface on a free port) and checks,
through the client's own calls and exceptions:

- appends with each expected-revision kind (no stream, a revision, exists, any) and the
  conflicts, with the actual version the client reports;
- reads of a stream forwards, backwards, from a revision, and of a stream that does not exist;
- reads of $all with stream-name prefix and event-type filters;
- a catch-up subscription to a stream and a filtered one to $all that deliver stored events, the
  caught-up marker, then an event appended after it;
- a persistent subscription: ack, nack with retry (redelivered with its retry count), park and
  replay of the parked event, a second consumer taking over what the first left unacked, info
  and listing;
- soft delete (revisions continue after a new append) and tombstone (reads and appends refused);
- stream metadata: $maxCount hides older events; the metadata reads back with its version;
- with API keys and TLS (a self-signed certificate made with openssl): credentials as user and
  password, a read-only key refused an append, a wrong password refused.

Every wait is bounded; every server started is stopped by its PID.
Usage: python3 Tests/python/kurrentdb_client_test.py PATH/TO/strata
Prints 'kurrentdb client: N passed, N failed' last; exits 1 on any failure.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
import uuid

CLIENT_VERSION = "1.3.5"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VENV = os.path.join(ROOT, ".build", "kurrentdb-venv")


def ensure_venv():
    """Re-runs this script inside a venv holding the pinned client."""
    python = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(python):
        if subprocess.run([sys.executable, "-m", "venv", VENV]).returncode != 0:
            # Debian keeps venv's pip bootstrap in python3-venv.
            shutil.rmtree(VENV, ignore_errors=True)
            sudo = [] if os.geteuid() == 0 else ["sudo"]
            subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True)
            subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "python3-venv"], check=True,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
            subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    check = subprocess.run([python, "-c", f"import importlib.metadata as m; assert m.version('kurrentdbclient') == '{CLIENT_VERSION}'"],
                           capture_output=True)
    if check.returncode != 0:
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"kurrentdbclient=={CLIENT_VERSION}"], check=True)
    os.execv(python, [python] + sys.argv)


ensure_venv()

from kurrentdbclient import KurrentDBClient, NewEvent, StreamState  # noqa: E402
from kurrentdbclient.exceptions import (  # noqa: E402
    AccessDeniedError, NotFoundError, StreamIsDeletedError, UnauthenticatedError, WrongCurrentVersionError,
)

STRATA = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "debug", "strata")
passed = failed = 0
servers = []
http_urls = []


class Failure(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Failure(message)


def expect_raises(kind, body, message):
    try:
        body()
    except kind as e:
        return e
    except Exception as e:  # noqa: BLE001
        raise Failure(f"{message}: raised {type(e).__name__}: {e}, not {kind.__name__}")
    raise Failure(f"{message}: nothing was raised")


def check(name, body):
    global passed, failed
    try:
        body()
        passed += 1
        print(f"ok   {name}", flush=True)
    except Exception:  # noqa: BLE001
        failed += 1
        print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)


def start_server(extra_args, env=None):
    """Starts strata serve; returns (process, grpc port, folder) once both surfaces listen (the
    HTTP URL goes to http_urls)."""
    folder = tempfile.mkdtemp(prefix="strata-kdb-")
    args = [STRATA, "serve", "--store", "memory:", "--port", "0", "--grpc-port", "0", "--subscriptions", os.path.join(folder, "subs")] + extra_args
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    servers.append((process, folder))
    grpc_port = http_url = None
    deadline = time.monotonic() + 60
    lines = []

    def reader():
        for line in process.stdout:
            lines.append(line.strip())

    threading.Thread(target=reader, daemon=True).start()
    while time.monotonic() < deadline and (grpc_port is None or http_url is None):
        for line in list(lines):
            if line.startswith("listening grpc"):
                grpc_port = int(line.rsplit(":", 1)[1])
            elif line.startswith("listening http"):
                http_url = line.split(" ", 1)[1]
        if process.poll() is not None:
            raise Failure(f"strata serve exited with {process.returncode}: {lines}")
        time.sleep(0.05)
    expect(grpc_port is not None and http_url is not None, f"strata serve did not announce both surfaces within 60 s: {lines}")
    http_urls.append(http_url)
    return process, grpc_port, folder


def stop_servers():
    for process, folder in servers:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def event(kind, body, metadata=b""):
    return NewEvent(type=kind, data=json.dumps(body).encode(), metadata=metadata, id=uuid.uuid4())


def first_n(iterator, n, timeout, predicate=lambda item: True):
    """Collects n items from a blocking iterator in a thread, within timeout seconds."""
    items, errors = [], []

    def run():
        try:
            for item in iterator:
                if predicate(item):
                    items.append(item)
                if len(items) >= n:
                    return
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    expect(not errors, f"the iterator failed: {errors}")
    expect(len(items) >= n, f"got {len(items)} of {n} items within {timeout} s: {items}")
    return items


def scenario(client, run):
    orders = f"order-{run}"
    e = [event("OrderPlaced", {"n": i}) for i in range(6)]

    def appends():
        p1 = client.append_to_stream(orders, events=[e[0]], current_version=StreamState.NO_STREAM)
        expect(isinstance(p1, int) and p1 > 0, f"the commit position of the first append: {p1}")
        client.append_to_stream(orders, events=[e[1]], current_version=0)
        client.append_to_stream(orders, events=[e[2]], current_version=StreamState.EXISTS)
        p4 = client.append_to_stream(orders, events=[e[3]], current_version=StreamState.ANY)
        expect(p4 > p1, "commit positions grow")
        conflict = expect_raises(WrongCurrentVersionError, lambda: client.append_to_stream(orders, events=[e[4]], current_version=1),
                                 "an append expecting version 1 of a stream at 3")
        expect(conflict.actual_version == 3, f"the actual version reported: {conflict.actual_version}")
        expect_raises(WrongCurrentVersionError, lambda: client.append_to_stream(orders, events=[e[4]], current_version=StreamState.NO_STREAM),
                      "an append expecting no stream to an existing stream")
        missing = expect_raises(WrongCurrentVersionError,
                                lambda: client.append_to_stream(f"none-{run}", events=[e[4]], current_version=StreamState.EXISTS),
                                "an append expecting an existing stream to a new one")
        expect(missing.actual_version == StreamState.NO_STREAM, f"no stream reported: {missing.actual_version}")
        expect(client.get_current_version(orders) == 3, "the current version is 3")
        # Appending an event again with the same id is idempotent: nothing new is stored.
        client.append_to_stream(orders, events=[e[3]], current_version=StreamState.ANY)
        expect(len(client.get_stream(orders)) == 4, "a repeated event id stored nothing")

    check("append with no-stream, revision, exists and any; conflicts report the actual version", appends)

    def reads():
        events = client.get_stream(orders)
        expect([x.stream_position for x in events] == [0, 1, 2, 3], f"revisions: {[x.stream_position for x in events]}")
        expect([x.id for x in events] == [x.id for x in e[:4]], "ids round-trip")
        expect(all(x.type == "OrderPlaced" and x.content_type == "application/json" for x in events), "types and content types")
        expect([json.loads(x.data)["n"] for x in events] == [0, 1, 2, 3], "data round-trips")
        expect(all(x.recorded_at is not None for x in events), "recorded times are sent")
        back = client.get_stream(orders, backwards=True, limit=2)
        expect([x.stream_position for x in back] == [3, 2], f"backwards: {[x.stream_position for x in back]}")
        middle = client.get_stream(orders, stream_position=2)
        expect([x.stream_position for x in middle] == [2, 3], "forwards from revision 2")
        expect_raises(NotFoundError, lambda: client.get_stream(f"never-{run}"), "reading a stream that does not exist")

    check("read a stream forwards, backwards, from a revision; a missing stream is NotFound", reads)

    def both_surfaces():
        # One store behind both ports: what the gRPC client appended, the HTTP API reads, and back.
        with urllib.request.urlopen(f"{http_urls[0]}/streams/{orders}?limit=10", timeout=30) as response:
            page = json.load(response)
        expect([x["revision"] for x in page["events"]] == [1, 2, 3, 4], f"HTTP revisions are 1-based: {page}")
        expect([x["id"] for x in page["events"]] == [str(x.id) for x in e[:4]], "the same ids over HTTP")
        body = json.dumps({"events": [{"id": str(e[5].id), "type": "OrderNoted", "data": {"n": 5}}]}).encode()
        request = urllib.request.Request(f"{http_urls[0]}/streams/http-{run}", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            expect(response.status == 200, f"the HTTP append answered {response.status}")
        over_grpc = client.get_stream(f"http-{run}")
        expect([(x.id, x.type, x.stream_position) for x in over_grpc] == [(e[5].id, "OrderNoted", 0)], f"read over gRPC: {over_grpc}")

    check("the HTTP API and the gRPC surface serve one store", both_surfaces)

    def read_all_filtered():
        client.append_to_stream(f"invoice-{run}", events=[event("InvoiceSent", {"n": 1})], current_version=StreamState.ANY)
        by_prefix = list(client.read_all(filter_include=[orders], filter_by_stream_name=True, filter_by_prefix=True))
        expect([x.stream_name for x in by_prefix] == [orders] * 4, f"stream prefix filter: {[x.stream_name for x in by_prefix]}")
        by_type = list(client.read_all(filter_include=["InvoiceSent"]))
        expect([x.stream_name for x in by_type] == [f"invoice-{run}"], f"event type filter: {[x.stream_name for x in by_type]}")
        everything = list(client.read_all())
        positions = [x.commit_position for x in everything]
        expect(positions == sorted(positions) and len(everything) >= 5, "$all in position order")
        back = list(client.read_all(backwards=True, limit=2))
        expect([x.commit_position for x in back] == sorted(positions, reverse=True)[:2], "$all backwards")

    check("read $all with stream-prefix and event-type filters, forwards and backwards", read_all_filtered)

    def catch_up():
        subscription = client.subscribe_to_stream(orders, include_caught_up=True, timeout=60)
        stored = first_n(subscription, 5, 30)
        expect([type(x).__name__ for x in stored] == ["RecordedEvent"] * 4 + ["CaughtUp"], f"stored then caught up: {stored}")
        live_event = event("OrderShipped", {"n": 9})
        client.append_to_stream(orders, events=[live_event], current_version=3)
        live = first_n(subscription, 1, 30)
        expect(live[0].id == live_event.id and live[0].stream_position == 4, f"the live event: {live[0]}")
        subscription.stop()

        everything = client.subscribe_to_all(filter_include=[f"invoice-{run}"], filter_by_stream_name=True, filter_by_prefix=True,
                                             include_caught_up=True, timeout=60)
        first = first_n(everything, 2, 30)
        expect(first[0].stream_name == f"invoice-{run}" and type(first[1]).__name__ == "CaughtUp", f"filtered $all: {first}")
        client.append_to_stream(f"invoice-{run}", events=[event("InvoiceSent", {"n": 2})], current_version=0)
        later = first_n(everything, 1, 30, lambda x: type(x).__name__ == "RecordedEvent")
        expect(later[0].stream_position == 1, "the live $all event")
        everything.stop()

    check("catch-up subscriptions to a stream and a filtered $all go live after the caught-up marker", catch_up)

    def persistent():
        stream = f"work-{run}"
        client.append_to_stream(stream, events=[event("Job", {"n": i}) for i in range(4)], current_version=StreamState.NO_STREAM)
        client.create_subscription_to_stream(group_name="workers", stream_name=stream, consumer_strategy="RoundRobin",
                                             message_timeout=30, max_retry_count=5)
        reader = client.read_subscription_to_stream(group_name="workers", stream_name=stream, timeout=60)
        got = first_n(reader, 4, 30)
        expect([x.stream_position for x in got] == [0, 1, 2, 3], f"first delivery: {[x.stream_position for x in got]}")
        reader.ack(got[0])
        reader.nack(got[1], action="retry")
        reader.nack(got[2], action="park")
        again = first_n(reader, 1, 30)
        expect(again[0].stream_position == 1 and again[0].retry_count == 1, f"the retried event: {again[0]}")
        reader.ack(again[0])
        # The fourth event stays unacked; the first consumer leaves.
        reader.stop()
        info = client.get_subscription_info(group_name="workers", stream_name=stream)
        expect(info.group_name == "workers" and info.event_source == stream, f"info: {info}")
        listed = client.list_subscriptions_to_stream(stream)
        expect([x.group_name for x in listed] == ["workers"], f"listed: {listed}")
        second = client.read_subscription_to_stream(group_name="workers", stream_name=stream, timeout=60)
        taken = first_n(second, 1, 30)
        expect(taken[0].stream_position == 3, f"the second consumer gets what the first left unacked: {taken[0]}")
        second.ack(taken[0])
        client.replay_parked_events(group_name="workers", stream_name=stream)
        replayed = first_n(second, 1, 30)
        expect(replayed[0].stream_position == 2, f"the parked event is replayed: {replayed[0]}")
        second.ack(replayed[0])
        second.stop()
        client.delete_subscription(group_name="workers", stream_name=stream)
        expect_raises(NotFoundError, lambda: client.get_subscription_info(group_name="workers", stream_name=stream), "a deleted group")

    check("persistent subscription: ack, retry, park and replay, a second consumer takes over, info, list, delete", persistent)

    def deletes():
        stream = f"temp-{run}"
        client.append_to_stream(stream, events=[event("T", {"n": 1}), event("T", {"n": 2})], current_version=StreamState.NO_STREAM)
        client.delete_stream(stream, current_version=1)
        expect_raises(NotFoundError, lambda: client.get_stream(stream), "a soft-deleted stream")
        client.append_to_stream(stream, events=[event("T", {"n": 3})], current_version=StreamState.ANY)
        after = client.get_stream(stream)
        expect([x.stream_position for x in after] == [2], f"revisions continue after a soft delete: {[x.stream_position for x in after]}")
        expect_raises(WrongCurrentVersionError, lambda: client.tombstone_stream(stream, current_version=0), "a tombstone expecting the wrong version")
        client.tombstone_stream(stream, current_version=StreamState.ANY)
        expect_raises(StreamIsDeletedError, lambda: client.get_stream(stream), "reading a tombstoned stream")
        expect_raises(StreamIsDeletedError, lambda: client.append_to_stream(stream, events=[event("T", {})], current_version=StreamState.ANY),
                      "appending to a tombstoned stream")

    check("soft delete lets revisions continue; a tombstone refuses reads and appends", deletes)

    def metadata():
        stream = f"meta-{run}"
        client.append_to_stream(stream, events=[event("M", {"n": i}) for i in range(5)], current_version=StreamState.NO_STREAM)
        expect(client.get_stream_metadata(stream) == ({}, StreamState.NO_STREAM), "no metadata at first")
        client.set_stream_metadata(stream, metadata={"$maxCount": 2, "owner": "ops"}, current_version=StreamState.NO_STREAM)
        expect([x.stream_position for x in client.get_stream(stream)] == [3, 4], "$maxCount keeps the newest two")
        read_back, version = client.get_stream_metadata(stream)
        expect(read_back == {"$maxCount": 2, "owner": "ops"} and version == 0, f"metadata read back: {read_back}, {version}")
        expect_raises(WrongCurrentVersionError,
                      lambda: client.set_stream_metadata(stream, metadata={"$maxCount": 3}, current_version=StreamState.NO_STREAM),
                      "setting metadata expecting none when some exists")

    check("stream metadata: $maxCount applies, metadata reads back, expected versions are checked", metadata)


def secured():
    folder = tempfile.mkdtemp(prefix="strata-kdb-tls-")
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    config = os.path.join(folder, "config.json")
    with open(config, "w") as f:
        json.dump({"version": 1, "tls": {"certificate": cert, "privateKey": key}, "host": "127.0.0.1",
                   "apiKeys": [{"name": "writer", "key": "writer-secret-0123456789abcdef", "scopes": ["write", "read", "admin"]},
                               {"name": "reader", "key": "reader-secret-0123456789abcdef", "scopes": ["read"]}]}, f)
    _, port, _ = start_server(["--config", config])

    def client(user, password):
        return KurrentDBClient(uri=f"kurrentdb://{user}:{password}@127.0.0.1:{port}?tls=true&tlsCaFile={cert}")

    def keys():
        writer = client("writer", "writer-secret-0123456789abcdef")
        writer.append_to_stream("secure-1", events=[event("S", {})], current_version=StreamState.NO_STREAM)
        reader = client("reader", "reader-secret-0123456789abcdef")
        expect(len(reader.get_stream("secure-1")) == 1, "a read-only key reads")
        expect_raises(AccessDeniedError, lambda: reader.append_to_stream("secure-1", events=[event("S", {})], current_version=StreamState.ANY),
                      "a read-only key appending")
        wrong = client("writer", "not-the-secret-0123456789abcdef")
        expect_raises(UnauthenticatedError, lambda: wrong.get_stream("secure-1"), "a wrong password")
        for c in (writer, reader, wrong):
            c.close()

    check("over TLS, API keys are the client's user and password, with their scopes", keys)
    shutil.rmtree(folder, ignore_errors=True)


def main():
    try:
        _, port, _ = start_server([])
        client = KurrentDBClient(uri=f"kurrentdb://127.0.0.1:{port}?tls=false")
        scenario(client, uuid.uuid4().hex[:8])
        client.close()
        if shutil.which("openssl"):
            secured()
        else:
            print("skip TLS and keys: openssl is missing", flush=True)
    except Exception:  # noqa: BLE001
        global failed
        failed += 1
        print(f"FAIL setup\n{traceback.format_exc()}", flush=True)
    finally:
        stop_servers()
    print(f"kurrentdb client: {passed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
