#!/usr/bin/env python3
"""`strata serve` tried as a hostile client would (issue 15): plain sockets and http.client only.

Starts its own servers (`strata serve --store memory: --port 0 --config FILE`, loopback only),
each with the configuration one group of checks needs, and checks that:

- a request with a foreign `Origin` is refused (403 `origin-not-allowed`) on every route and on
  WebSocket upgrades; the server's own origin and configured `allowedOrigins` are served, the
  latter with CORS headers and an answered preflight; CORS is off by default;
- in no-key mode a `Host` that is not a loopback name or in `allowedHosts` is refused (DNS
  rebinding, 403 `host-not-allowed`); with keys configured it is not checked;
- POST, PUT and PATCH without `Content-Type: application/json` are refused (415) and store nothing;
- collection names that could become paths (`..`, `%2e%2e`, `a%2Fb`, …) are refused on every
  `{collection}` route and nothing is created outside `documentsDirectory`; documents of a
  collection that does not exist answer 404 without opening it;
- long polls and document subscriptions count against `maxSubscribersPerKey`;
- read pages are cut by `maxResponseBytes`;
- a read-only key cannot write; hashed and rotated keys authenticate;
- 2,000 idle connections do not starve a well-behaved client and are closed after
  `idleTimeoutSeconds`; slowloris heads and slow bodies are cut off; oversized heads are refused;
  over `maxConnections` the server recovers.

Every wait is bounded; every server started is stopped (SIGTERM, then kill after 20 s).
Usage: python3 Tests/python/hostile_clients_test.py PATH/TO/strata
Prints 'hostile clients: N passed, N failed' last; exits 1 on any failure.
"""
import hashlib
import http.client
import json
import os
import re
import resource
import select
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

STRATA = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", ".build", "debug", "strata")
LOOPBACK = "127.0.0.1"
passed = failed = 0
servers = []

ADMIN_KEY = "hostile-admin-key-0123456789abcdef"
READ_KEY = "hostile-read-only-key-0123456789ab"
ROTATED_OLD = "rotation-key-old-0123456789abcdef"
ROTATED_NEW = "rotation-key-new-0123456789abcdef"
HASHED_ADMIN = "hashed-admin-key-0123456789abcdef"
ALLOWED_ORIGIN = "http://app.example:8080"
SCOPE_CODES = ("missing-scope", "forbidden")


class Failure(Exception):
    """A check saw something else than it expected; the message says what."""


def expect(condition, message):
    if not condition:
        raise Failure(message)


def run(name, function, *args):
    global passed, failed
    started = time.monotonic()
    try:
        function(*args)
    except Failure as failure:
        failed += 1
        print(f"FAIL {name}: {failure}", flush=True)
    except Exception as error:  # a socket error or a bug in the check: still one failure, with its trace
        failed += 1
        print(f"FAIL {name}: unexpected {error!r}\n{traceback.format_exc(limit=4)}", flush=True)
    else:
        passed += 1
        print(f"ok   {name} ({time.monotonic() - started:.1f} s)", flush=True)


# MARK: - Servers

class Server:
    """One `strata serve` over a memory store with a configuration file."""

    def __init__(self, name, config, root, cwd=None):
        self.name = name
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir, exist_ok=True)
        self.config_path = os.path.join(self.dir, "config.json")
        with open(self.config_path, "w") as file:
            json.dump({"version": 1, **config}, file, indent=2)
        self.log_path = os.path.join(self.dir, "stderr.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([STRATA, "serve", "--store", "memory:", "--port", "0", "--config", self.config_path],
                                        stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL,
                                        cwd=cwd or self.dir, text=True)
        servers.append(self)
        line = ""
        ready, _, _ = select.select([self.process.stdout], [], [], 20)
        if ready:
            line = self.process.stdout.readline().strip()
        if not line.startswith("listening http://"):
            raise Failure(f"server {name} did not start: stdout {line!r}, stderr {self.stderr()!r}")
        self.port = int(line.rsplit(":", 1)[1])
        self.host = f"{LOOPBACK}:{self.port}"

    def stderr(self):
        self.log.flush()
        with open(self.log_path, errors="replace") as file:
            return file.read()[-2000:]

    def stop(self):
        """SIGTERM, then kill after 20 s; returns the exit status (None when it had to be killed)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
                return None
        return self.process.returncode


# MARK: - HTTP

class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def code(self):
        value = self.json()
        if isinstance(value, dict) and isinstance(value.get("error"), dict):
            return value["error"].get("code")
        return None

    def header(self, name):
        return self.headers.get(name) if self.headers is not None else None

    def __repr__(self):
        return f"{self.status} {self.body[:240]!r}"


JSON = "application/json"


def request(port, method, path, body=None, headers=None, content_type=JSON, timeout=10):
    """One request on a fresh connection, the path sent exactly as given. A dict or list body is
    sent as JSON with `content_type` (None: no Content-Type). An event stream's body is not read."""
    headers = dict(headers or {})
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    if isinstance(data, str):
        data = data.encode()
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        connection.putrequest(method, path, skip_host="host" in {k.lower() for k in headers}, skip_accept_encoding=True)
        if data is not None and content_type is not None:
            connection.putheader("Content-Type", content_type)
        if data is not None or method in ("POST", "PUT", "PATCH"):
            connection.putheader("Content-Length", str(len(data or b"")))
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(data)
        response = connection.getresponse()
        if (response.getheader("Content-Type") or "").startswith("text/event-stream"):
            return Reply(response.status, response.headers, b"<event stream>")
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def open_request(port, path, headers=None):
    """Sends a GET and returns the connection without reading the answer."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
    connection.putrequest("GET", path, skip_accept_encoding=True)
    for name, value in (headers or {}).items():
        connection.putheader(name, value)
    connection.endheaders()
    return connection


def readable(sock, seconds):
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(max(0, int(seconds * 1000))))


def event(kind="hostile", **data):
    return {"type": kind, "data": data or {}}


def append(port, stream, events=None, headers=None):
    return request(port, "POST", f"/streams/{stream}", {"events": events or [event()]}, headers=headers)


def head(port, headers=None):
    reply = request(port, "GET", "/head", headers=headers)
    expect(reply.status == 200, f"GET /head: {reply}")
    return reply.json()["headPosition"]


def refused(reply, status, codes):
    codes = (codes,) if isinstance(codes, str) else codes
    return reply.status == status and reply.code in codes


def raw_exchange(port, data, timeout=10, answers=1):
    """Sends raw bytes; returns (status of the last answer or None, bytes received, closed) once
    `answers` response heads arrived, or the server closed the connection, or after `timeout`."""
    sock = socket.create_connection((LOOPBACK, port), timeout=timeout)
    received, closed = b"", False
    try:
        try:
            sock.sendall(data)
        except OSError:
            closed = True
        deadline = time.monotonic() + timeout
        while received.count(b"\r\n\r\n") < answers and time.monotonic() < deadline:
            if not readable(sock, deadline - time.monotonic()):
                break
            try:
                chunk = sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                closed = True
                break
            received += chunk
        statuses = re.findall(rb"HTTP/1\.[01] (\d{3})", received)
        return (int(statuses[answers - 1]) if len(statuses) >= answers else None), received, closed
    finally:
        sock.close()


def parse_status(received):
    line = received.split(b"\r\n", 1)[0].split(b" ")
    if len(line) >= 2 and line[0].startswith(b"HTTP/") and line[1].isdigit():
        return int(line[1])
    return None


# MARK: - Browser rules: Origin, Host, Content-Type, CORS

def every_route(stream, collection):
    """One request per route (and a few shapes of each), for the origin check."""
    ingest = {"events": [{"id": str(uuid.uuid4()), "type": "t", "stream": stream, "data": {}}]}
    return [
        ("GET", "/health/live", None), ("GET", "/health/ready", None), ("GET", "/", None), ("GET", "/openapi.yaml", None),
        ("GET", "/admin/app.js", None), ("GET", "/favicon.ico", None), ("GET", "/stats", None), ("GET", "/head", None),
        ("GET", "/metrics", None), ("GET", "/consumers", None), ("GET", "/streams", None), ("GET", "/streams/$all", None),
        ("GET", f"/streams/{stream}", None), ("GET", f"/streams/{stream}/info", None), ("GET", "/wait?after=0&timeout=1000", None),
        ("GET", "/subscribe/$all", None), ("GET", f"/subscribe/{stream}", None), ("GET", "/ws/subscribe/$all", None),
        ("POST", f"/streams/{stream}", {"events": [event()]}),
        ("POST", "/append", {"requests": [{"stream": stream, "events": [event()]}]}),
        ("POST", "/ingest", ingest), ("DELETE", f"/streams/{stream}", None), ("PUT", f"/streams/{stream}/metadata", {"maxCount": 1}),
        ("PUT", f"/documents/{collection}/k", {"a": 1}), ("POST", f"/documents/{collection}", {"a": 1}),
        ("PATCH", f"/documents/{collection}/k", {"a": 2}), ("DELETE", f"/documents/{collection}/k", None),
        ("GET", f"/documents/{collection}/k", None), ("POST", f"/documents/{collection}/query", {}),
        ("POST", f"/documents/{collection}/count", {}), ("GET", f"/documents/{collection}/keys", None),
        ("GET", f"/documents/{collection}/subscribe", None), ("GET", "/no-such-route", None), ("OPTIONS", f"/streams/{stream}", None),
        ("GET", "/subscriptions", None), ("PUT", f"/subscriptions/{stream}/g", {}), ("POST", f"/subscriptions/{stream}/g/read?consumer=c", {}),
        ("POST", f"/subscriptions/{stream}/g/ack", {"consumer": "c", "ids": []}), ("DELETE", f"/subscriptions/{stream}/g", None),
    ]


def foreign_origin_refused_on_every_route(server):
    before = head(server.port)
    wrong = []
    for method, path, body in every_route("origin-x", "origincol"):
        reply = request(server.port, method, path, body, headers={"Origin": "http://evil.example"})
        if not refused(reply, 403, "origin-not-allowed"):
            wrong.append(f"{method} {path} -> {reply}")
    expect(not wrong, "expected 403 origin-not-allowed for Origin: http://evil.example, got:\n  " + "\n  ".join(wrong))
    expect(head(server.port) == before, "a refused request stored events")
    expect(request(server.port, "GET", "/streams/origin-x").status == 404, "stream origin-x exists after refused writes")


def origin_spellings_refused(server):
    p = server.port
    origins = ["null", "http://evil.example", f"http://127.0.0.1:{p + 1}", f"https://127.0.0.1:{p}", f"http://localhost:{p}",
               f"http://127.0.0.1:{p}.evil.example", f"http://127.0.0.1.evil.example:{p}", "http://app.example",
               "http://app.example:8080.evil.example", "https://app.example:8080", "http://evil.example/http://app.example:8080",
               "file://", "chrome-extension://abcdefghijklmnop"]
    wrong = []
    for origin in origins:
        for method, path, body in [("GET", "/head", None), ("POST", "/streams/origin-y", {"events": [event()]})]:
            reply = request(p, method, path, body, headers={"Origin": origin})
            if not refused(reply, 403, "origin-not-allowed"):
                wrong.append(f"Origin {origin!r}: {method} {path} -> {reply}")
    expect(not wrong, "expected 403 origin-not-allowed (Host is 127.0.0.1:PORT), got:\n  " + "\n  ".join(wrong))
    expect(request(p, "GET", "/streams/origin-y").status == 404, "stream origin-y exists after refused writes")


def own_origin_served(server):
    p = server.port
    for host, origin in [(server.host, f"http://{server.host}"), (f"localhost:{p}", f"http://localhost:{p}")]:
        reply = request(p, "GET", "/head", headers={"Host": host, "Origin": origin})
        expect(reply.status == 200, f"GET /head with Host {host} and its own Origin {origin}: {reply}")
        reply = append(p, "own-origin", headers={"Host": host, "Origin": origin})
        expect(reply.status == 200, f"POST /streams/own-origin with Host {host} and Origin {origin}: {reply}")


def allowed_origin_gets_cors_headers(server):
    p = server.port
    for method, path, body in [("GET", "/head", None), ("POST", "/streams/cors-x", {"events": [event()]}), ("GET", "/streams/cors-x", None)]:
        reply = request(p, method, path, body, headers={"Origin": ALLOWED_ORIGIN})
        expect(reply.status == 200, f"{method} {path} from allowed origin {ALLOWED_ORIGIN}: {reply}")
        expect(reply.header("Access-Control-Allow-Origin") == ALLOWED_ORIGIN,
               f"{method} {path}: Access-Control-Allow-Origin is {reply.header('Access-Control-Allow-Origin')!r}")
        expect("origin" in (reply.header("Vary") or "").lower(), f"{method} {path}: Vary is {reply.header('Vary')!r}")
    reply = request(p, "GET", "/head")
    expect(reply.status == 200 and reply.header("Access-Control-Allow-Origin") is None,
           f"a request without Origin got Access-Control-Allow-Origin {reply.header('Access-Control-Allow-Origin')!r}")


def preflight_answered_for_allowed_origin(server, key=None):
    headers = {"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "authorization, content-type"}
    reply = request(server.port, "OPTIONS", "/streams/cors-x", headers=headers)
    expect(reply.status == 204, f"preflight OPTIONS /streams/cors-x from {ALLOWED_ORIGIN} (no key): {reply}")
    expect(reply.header("Access-Control-Allow-Origin") == ALLOWED_ORIGIN,
           f"Access-Control-Allow-Origin: {reply.header('Access-Control-Allow-Origin')!r}")
    methods = {m.strip().upper() for m in (reply.header("Access-Control-Allow-Methods") or "").split(",")}
    expect({"GET", "POST", "PUT", "PATCH", "DELETE"} <= methods, f"Access-Control-Allow-Methods: {reply.header('Access-Control-Allow-Methods')!r}")
    allowed = {h.strip().lower() for h in (reply.header("Access-Control-Allow-Headers") or "").split(",")}
    expect({"authorization", "content-type", "x-api-key", "last-event-id"} <= allowed,
           f"Access-Control-Allow-Headers: {reply.header('Access-Control-Allow-Headers')!r}")
    expect((reply.header("Access-Control-Max-Age") or "").strip().isdigit(), f"Access-Control-Max-Age: {reply.header('Access-Control-Max-Age')!r}")
    expect("origin" in (reply.header("Vary") or "").lower(), f"Vary: {reply.header('Vary')!r}")
    foreign = request(server.port, "OPTIONS", "/streams/cors-x", headers={**headers, "Origin": "http://evil.example"})
    expect(refused(foreign, 403, "origin-not-allowed"), f"preflight from http://evil.example: {foreign}")


def cors_off_by_default(server):
    headers = {"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    reply = request(server.port, "OPTIONS", "/streams/cors-x", headers=headers)
    expect(refused(reply, 403, "origin-not-allowed") and reply.header("Access-Control-Allow-Origin") is None,
           f"preflight with no allowedOrigins configured: {reply} (Access-Control-Allow-Origin {reply.header('Access-Control-Allow-Origin')!r})")
    reply = request(server.port, "GET", "/head", headers={"Origin": ALLOWED_ORIGIN})
    expect(refused(reply, 403, "origin-not-allowed"), f"GET /head with Origin {ALLOWED_ORIGIN} and no allowedOrigins: {reply}")


def websocket_handshake(port, path, extra):
    lines = [f"GET {path} HTTP/1.1", f"Host: {LOOPBACK}:{port}", "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"] + [f"{k}: {v}" for k, v in extra.items()]
    return raw_exchange(port, ("\r\n".join(lines) + "\r\n\r\n").encode(), timeout=10)


def websocket_upgrade_origin_checked(server, key=None):
    path = "/ws/subscribe/$all" + (f"?api_key={key}" if key else "")
    for origin in ["http://evil.example", "null", f"http://localhost:{server.port}"]:
        # Not upgraded: Hummingbird answers a declined upgrade with 400 and Connection: close
        # (docs/SERVER.md); the same request without Upgrade gets the 403 (checked below).
        status, received, _ = websocket_handshake(server.port, path, {"Origin": origin})
        expect(status in (400, 403), f"WebSocket upgrade with Origin {origin}: expected 400/403 without 101, got {received[:300]!r}")
        plain = request(server.port, "GET", path, headers={"Origin": origin})
        expect(refused(plain, 403, "origin-not-allowed"), f"GET {path} (no Upgrade) with Origin {origin}: {plain}")
    for extra in [{}, {"Origin": f"http://{server.host}"}, {"Origin": ALLOWED_ORIGIN}]:
        status, received, _ = websocket_handshake(server.port, path, extra)
        expect(status == 101, f"WebSocket upgrade with {extra or 'no Origin'}: expected 101, got {received[:300]!r}")


def websocket_upgrade_host_checked(server):
    for host in [f"evil.example:{server.port}", f"0.0.0.0:{server.port}"]:
        lines = ["GET /ws/subscribe/$all HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"]
        status, received, _ = raw_exchange(server.port, ("\r\n".join(lines) + "\r\n\r\n").encode(), timeout=10)
        expect(status in (400, 403),
               f"WebSocket upgrade with Host {host} (no-key mode): expected 400/403 without 101, got {received[:300]!r}")


def loopback_hosts_accepted(server):
    p = server.port
    wrong = []
    for host in [server.host, f"localhost:{p}", "localhost", f"127.0.0.2:{p}", f"127.255.255.254:{p}", f"[::1]:{p}", "[::1]",
                 f"strata.test:{p}", "strata.test"]:
        reply = request(p, "GET", "/head", headers={"Host": host})
        if reply.status != 200:
            wrong.append(f"Host {host}: {reply}")
    expect(not wrong, "expected 200 for loopback and allowedHosts names:\n  " + "\n  ".join(wrong))


def rebinding_hosts_refused(server):
    p = server.port
    wrong = []
    for host in ["evil.example", f"evil.example:{p}", f"127.0.0.1.evil.example:{p}", f"localhost.evil.example:{p}", f"128.0.0.1:{p}",
                 f"10.0.0.1:{p}", f"192.168.1.10:{p}", f"0.0.0.0:{p}", f"[::2]:{p}", f"strata.test.evil.example:{p}", f"evilstrata.test:{p}"]:
        for method, path, body in [("GET", "/head", None), ("GET", "/streams/$all", None), ("POST", "/streams/rebind-x", {"events": [event()]})]:
            reply = request(p, method, path, body, headers={"Host": host})
            if not refused(reply, 403, "host-not-allowed"):
                wrong.append(f"Host {host}: {method} {path} -> {reply}")
    # What a DNS-rebinding page sends: its Origin is http:// + the Host it reached.
    reply = append(p, "rebind-x", headers={"Host": f"evil.example:{p}", "Origin": f"http://evil.example:{p}"})
    if not refused(reply, 403, "host-not-allowed"):
        wrong.append(f"Host evil.example:{p} with Origin http://evil.example:{p}: POST -> {reply}")
    expect(not wrong, "expected 403 host-not-allowed in no-key mode:\n  " + "\n  ".join(wrong))
    expect(request(p, "GET", "/streams/rebind-x").status == 404, "stream rebind-x exists after refused writes")


def writes_need_json_content_type(server):
    p = server.port
    wrong = []
    body = {"events": [event()]}
    for content_type in ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                         None, "", "application/jsonx", "text/json", "application/xml"]:
        reply = request(p, "POST", "/streams/ctype-x", body, content_type=content_type)
        if not refused(reply, 415, "unsupported-media-type"):
            wrong.append(f"POST /streams/ctype-x Content-Type {content_type!r} -> {reply}")
    request(p, "PUT", "/documents/ctypecol/exists", {"v": 1})
    for method, path, payload in [("POST", "/append", {"requests": [{"stream": "ctype-x", "events": [event()]}]}),
                                  ("PUT", "/streams/ctype-x/metadata", {"maxCount": 1}),
                                  ("POST", "/ingest", {"events": [{"id": str(uuid.uuid4()), "type": "t", "stream": "ctype-x"}]}),
                                  ("PUT", "/documents/ctypecol/k", {"v": 1}), ("POST", "/documents/ctypecol", {"v": 1}),
                                  ("PATCH", "/documents/ctypecol/exists", {"v": 2}), ("POST", "/documents/ctypecol/query", {}),
                                  ("POST", "/documents/ctypecol/count", {})]:
        for content_type in ["text/plain", "application/x-www-form-urlencoded", None]:
            reply = request(p, method, path, payload, content_type=content_type)
            if not refused(reply, 415, "unsupported-media-type"):
                wrong.append(f"{method} {path} Content-Type {content_type!r} -> {reply}")
    expect(not wrong, "expected 415 unsupported-media-type:\n  " + "\n  ".join(wrong))
    expect(request(p, "GET", "/streams/ctype-x").status == 404, "stream ctype-x exists after refused writes")
    reply = request(p, "GET", "/documents/ctypecol/exists")
    expect(reply.status == 200 and reply.json()["data"].get("v") == 1 and reply.json()["meta"]["changes"] == 1,
           f"document ctypecol/exists changed by a refused PATCH: {reply}")
    expect(request(p, "GET", "/documents/ctypecol/k").status == 404, "document ctypecol/k exists after a refused PUT")


def json_content_type_parameters_accepted(server):
    for content_type in ["application/json; charset=utf-8", "Application/JSON", "application/json;charset=UTF-8", "APPLICATION/JSON ; charset=utf-8"]:
        reply = request(server.port, "POST", "/streams/ctype-ok", {"events": [event()]}, content_type=content_type)
        expect(reply.status == 200, f"POST /streams/ctype-ok Content-Type {content_type!r}: {reply}")


def ingest_takes_json_only(server):
    # /ingest takes the JSON batch only (docs/SERVER.md, "Ingest"); other types are 415.
    ids = [str(uuid.uuid4()), str(uuid.uuid4())]
    lines = "\n".join(json.dumps({"id": i, "type": "ndjson", "stream": "ndjson-x", "data": {"n": n}}) for n, i in enumerate(ids)) + "\n"
    reply = request(server.port, "POST", "/ingest", lines, content_type="application/x-ndjson")
    expect(refused(reply, 415, "unsupported-media-type"), f"POST /ingest Content-Type application/x-ndjson: {reply}")
    batch = {"events": [{"id": i, "type": "json", "stream": "ingest-json", "data": {"n": n}} for n, i in enumerate(ids)]}
    reply = request(server.port, "POST", "/ingest", batch)
    expect(reply.status == 200, f"POST /ingest with a JSON batch: {reply}")


# MARK: - Names that become paths

SPELLINGS = ["..", ".", ".hidden", "%2e%2e", "%2E%2E", "..%2F..%2Fetc", "%2e%2e%2fx", "a%2Fb", "a%5Cb", "..%5C..", "%252e%252e"]
COLLECTION_ROUTES = [
    ("GET", "/documents/{c}/k", None), ("PUT", "/documents/{c}/k", {"a": 1}), ("PATCH", "/documents/{c}/k", {"a": 1}),
    ("DELETE", "/documents/{c}/k", None), ("POST", "/documents/{c}", {"a": 1}), ("POST", "/documents/{c}/query", {}),
    ("POST", "/documents/{c}/count", {}), ("GET", "/documents/{c}/keys", None), ("GET", "/documents/{c}/subscribe", None),
]
VALID_COLLECTIONS = ["good.name_1", "x" * 64, "exists"]


def traversal_refused(server, method, template, body):
    wrong = []
    for spelling in SPELLINGS:
        path = template.replace("{c}", spelling)
        reply = request(server.port, method, path, body)
        if not refused(reply, 400, "invalid-argument"):
            wrong.append(f"{method} {path} -> {reply}")
    path = template.replace("{c}", "../..")
    reply = request(server.port, method, path, body)
    if reply.status not in (400, 404):
        wrong.append(f"{method} {path} -> {reply} (expected 400 or 404)")
    expect(not wrong, "expected 400 invalid-argument:\n  " + "\n  ".join(wrong))


def collection_names_checked(server):
    p = server.port
    for name in VALID_COLLECTIONS:
        reply = request(p, "PUT", f"/documents/{name}/k", {"ok": True})
        expect(reply.status == 200, f"PUT /documents/{name}/k (a valid name): {reply}")
    for name in ["x" * 65, "a-b", "a%20b", "caf%C3%A9", "a%00b", "a:b", "%2Fetc"]:
        reply = request(p, "PUT", f"/documents/{name}/k", {"ok": True})
        expect(refused(reply, 400, "invalid-argument"), f"PUT /documents/{name}/k: expected 400 invalid-argument, got {reply}")


def admin_files_not_traversed(server):
    for path in ["/admin/..%2F..%2F..%2F..%2Fetc%2Fpasswd", "/admin/%2e%2e%2fopenapi.yaml", "/admin/../../../etc/passwd", "/admin/.%2e/Package.swift"]:
        reply = request(server.port, "GET", path)
        expect(not 200 <= reply.status < 300 and b"root:" not in reply.body, f"GET {path}: {reply}")


def snapshot(root, excluded):
    found = set()
    for directory, folders, files in os.walk(root):
        if os.path.abspath(directory).startswith(excluded):
            continue
        for name in folders + files:
            path = os.path.join(directory, name)
            if not os.path.abspath(path).startswith(excluded):
                found.add(os.path.relpath(path, root))
    return found


def nothing_created_outside(documents, root, before):
    after = snapshot(root, os.path.abspath(documents))
    new = sorted(after - before)
    expect(not new, f"created outside documentsDirectory {documents}: {new}")
    top = set(os.listdir(documents)) if os.path.isdir(documents) else set()
    suspicious = sorted(n for n in top if n.startswith(".") or "%" in n or "\\" in n or n in ("a", "etc", "x", "hidden"))
    expect(not suspicious, f"documentsDirectory holds {suspicious} (all entries: {sorted(top)})")


def missing_collection_not_opened(server, documents):
    p = server.port
    wrong = []
    for method, path, body in [("GET", "/documents/nosuch/k", None), ("POST", "/documents/nosuch/query", {}),
                               ("POST", "/documents/nosuch/count", {}), ("GET", "/documents/nosuch/keys", None),
                               ("GET", "/documents/nosuch/keys?pattern=.*", None)]:
        reply = request(p, method, path, body)
        if not refused(reply, 404, "collection-not-found"):
            wrong.append(f"{method} {path} -> {reply}")
    expect(not wrong, "expected 404 collection-not-found:\n  " + "\n  ".join(wrong))
    entries = os.listdir(documents) if os.path.isdir(documents) else []
    expect(not any(n.startswith("nosuch") for n in entries), f"documentsDirectory has {entries} after reads of a missing collection")
    reply = request(p, "GET", "/documents/exists/missing")
    expect(refused(reply, 404, "document-not-found"), f"GET /documents/exists/missing (collection exists): {reply}")


def open_collection_cap_keeps_serving(server):
    p = server.port
    for i in range(5):
        reply = request(p, "PUT", f"/documents/cap{i}/k", {"i": i})
        expect(reply.status == 200, f"PUT /documents/cap{i}/k with maxOpenCollections 2: {reply}")
    for _ in range(2):
        for i in range(5):
            reply = request(p, "GET", f"/documents/cap{i}/k")
            expect(reply.status == 200 and reply.json()["data"].get("i") == i, f"GET /documents/cap{i}/k: {reply}")
            reply = request(p, "POST", f"/documents/cap{i}/count", {})
            expect(reply.status == 200 and reply.json() == {"count": 1}, f"POST /documents/cap{i}/count: {reply}")


# MARK: - Keys

def read_only_key_cannot_write(server):
    p = server.port
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    expect(append(p, "ro-existing", headers=admin).status == 200, "admin append to ro-existing")
    expect(request(p, "PUT", "/documents/rocol/k", {"v": 1}, headers=admin).status == 200, "admin PUT /documents/rocol/k")
    before = head(p, admin)
    wrong = []
    writes = [("POST", "/streams/ro-new", {"events": [event()]}), ("POST", "/streams/ro-existing", {"events": [event()]}),
              ("POST", "/append", {"requests": [{"stream": "ro-new", "events": [event()]}]}),
              ("DELETE", "/streams/ro-existing", None), ("DELETE", "/streams/ro-existing?mode=tombstone", None),
              ("PUT", "/streams/ro-existing/metadata", {"maxCount": 1}),
              ("POST", "/ingest", {"events": [{"id": str(uuid.uuid4()), "type": "t", "stream": "ro-new"}]}),
              ("PUT", "/documents/rocol/k", {"v": 2}), ("PUT", "/documents/rocol/k2", {"v": 2}), ("POST", "/documents/rocol", {"v": 2}),
              ("PATCH", "/documents/rocol/k", {"v": 2}), ("DELETE", "/documents/rocol/k", None)]
    for style in [{"Authorization": f"Bearer {READ_KEY}"}, {"X-API-Key": READ_KEY}]:
        for method, path, body in writes:
            reply = request(p, method, path, body, headers=style)
            if not refused(reply, 403, SCOPE_CODES):
                wrong.append(f"{method} {path} with {list(style)[0]}: read-only key -> {reply}")
    for method, path, body in writes[:1] + writes[6:7]:
        reply = request(p, method, f"{path}?api_key={READ_KEY}", body)
        if reply.status not in (401, 403):
            wrong.append(f"{method} {path}?api_key=<read-only key> -> {reply} (expected 401: api_key counts on GET only)")
    expect(not wrong, f"expected 403 ({' or '.join(SCOPE_CODES)}):\n  " + "\n  ".join(wrong))
    expect(head(p, admin) == before, "a refused write stored events")
    expect(request(p, "GET", "/streams/ro-new", headers=admin).status == 404, "stream ro-new exists after refused writes")
    info = request(p, "GET", "/streams/ro-existing/info", headers=admin).json()
    expect(info["exists"] and not info["isDeleted"] and not info["isTombstoned"] and info["lastRevision"] == 1 and not info["metadata"].get("maxCount"),
           f"ro-existing changed by refused writes: {info}")
    reply = request(p, "GET", "/documents/rocol/keys", headers=admin)
    expect(reply.json() == {"keys": ["k"]}, f"rocol keys after refused writes: {reply}")
    reply = request(p, "GET", "/documents/rocol/k", headers=admin)
    expect(reply.json()["data"].get("v") == 1 and reply.json()["meta"]["changes"] == 1, f"rocol/k after refused writes: {reply}")


def read_only_key_can_read(server):
    p = server.port
    for path, headers in [("/head", {"Authorization": f"Bearer {READ_KEY}"}), ("/head", {"X-API-Key": READ_KEY}),
                          (f"/head?api_key={READ_KEY}", {}), ("/streams/$all", {"X-API-Key": READ_KEY})]:
        reply = request(p, "GET", path, headers=headers)
        expect(reply.status == 200, f"GET {path.replace(READ_KEY, '<key>')} with the read-only key: {reply}")
    reply = request(p, "POST", "/documents/rocol/query", {}, headers={"Authorization": f"Bearer {READ_KEY}"})
    expect(reply.status == 200, f"POST /documents/rocol/query with the read-only key: {reply}")
    reply = request(p, "GET", "/head")
    expect(refused(reply, 401, "unauthorized"), f"GET /head without a key: {reply}")


def host_not_checked_with_keys(server):
    for host in ["evil.example", f"evil.example:{server.port}", f"10.0.0.1:{server.port}"]:
        reply = request(server.port, "GET", "/head", headers={"Host": host, "Authorization": f"Bearer {ADMIN_KEY}"})
        expect(reply.status == 200, f"GET /head with Host {host} and an admin key: {reply}")


def origin_checked_with_keys(server):
    for method, path, body in [("GET", "/head", None), ("POST", "/streams/origin-k", {"events": [event()]})]:
        reply = request(server.port, method, path, body, headers={"Origin": "http://evil.example", "Authorization": f"Bearer {ADMIN_KEY}"})
        expect(refused(reply, 403, "origin-not-allowed"), f"{method} {path} with Origin http://evil.example and an admin key: {reply}")
    reply = request(server.port, "GET", "/head", headers={"Origin": ALLOWED_ORIGIN, "Authorization": f"Bearer {ADMIN_KEY}"})
    expect(reply.status == 200 and reply.header("Access-Control-Allow-Origin") == ALLOWED_ORIGIN,
           f"GET /head from the allowed origin with an admin key: {reply}, ACAO {reply.header('Access-Control-Allow-Origin')!r}")


def hashed_and_rotated_keys(server):
    p = server.port
    for key in [ROTATED_OLD, ROTATED_NEW]:
        for style in [{"Authorization": f"Bearer {key}"}, {"X-API-Key": key}]:
            reply = request(p, "GET", "/head", headers=style)
            expect(reply.status == 200, f"GET /head with rotated key {key[:16]}… ({list(style)[0]}): {reply}")
        reply = append(p, "rotation-x", headers={"Authorization": f"Bearer {key}"})
        expect(reply.status == 200, f"append with rotated key {key[:16]}…: {reply}")
    reply = request(p, "GET", "/metrics", headers={"Authorization": f"Bearer {HASHED_ADMIN}"})
    expect(reply.status == 200, f"GET /metrics with the key behind an admin keyHash: {reply}")
    digest = hashlib.sha256(ROTATED_NEW.encode()).hexdigest()
    for wrong in [f"sha256:{digest}", digest, ROTATED_NEW[:-1], ROTATED_NEW + "x", "rotation-key-0123456789abcdef"]:
        reply = request(p, "GET", "/head", headers={"Authorization": f"Bearer {wrong}"})
        expect(refused(reply, 401, "unauthorized"), f"GET /head with the wrong key {wrong[:24]}…: {reply}")
    reply = request(p, "GET", "/metrics", headers={"Authorization": f"Bearer {ROTATED_NEW}"})
    expect(refused(reply, 403, SCOPE_CODES), f"GET /metrics with a read/write key: {reply}")


# MARK: - Subscriber limit (maxSubscribersPerKey 2)

def hold(port, path, deadline):
    """Opens a GET that the server holds open (a subscription or a long poll), retrying while a
    slot is not yet free (429); returns the connection, its response for streams, or fails."""
    last = None
    while time.monotonic() < deadline:
        connection = open_request(port, path)
        if path.startswith("/wait"):
            if not readable(connection.sock, 0.4):
                return connection, None
            response = connection.getresponse()
            last = f"{response.status} {response.read()[:200]!r}"
        else:
            response = connection.getresponse()
            if response.status == 200:
                return connection, response
            last = f"{response.status} {response.read()[:200]!r}"
        connection.close()
        time.sleep(0.3)
    raise Failure(f"could not hold GET {path} (a slot should be free): last answer {last}")


def refused_as_over_limit(port, path):
    started = time.monotonic()
    try:
        reply = request(port, "GET", path, timeout=4)
    except TimeoutError:
        return False, f"GET {path} -> no answer within 4 s"
    elapsed = time.monotonic() - started
    return refused(reply, 429, "too-many-subscribers") and elapsed < 3, f"GET {path} -> {reply} after {elapsed:.1f} s"


def expect_all_over_limit(port, paths, held_what):
    wrong = []
    for path in paths:
        ok, seen = refused_as_over_limit(port, path)
        if not ok:
            wrong.append(seen)
    expect(not wrong, f"with {held_what} held, expected 429 too-many-subscribers within 3 s:\n  " + "\n  ".join(wrong))


def long_polls_count_as_subscribers(server):
    p = server.port
    expect(request(p, "PUT", "/documents/subcol/k", {"v": 1}).status == 200, "PUT /documents/subcol/k")
    start = head(p)
    held = [hold(p, f"/wait?after={start}&timeout=20000", time.monotonic() + 10)[0] for _ in range(2)]
    try:
        expect_all_over_limit(p, [f"/wait?after={start}&timeout=20000", "/subscribe/$all", "/documents/subcol/subscribe"], "two /wait long polls")
        expect(append(p, "wake-up").status == 200, "append to wake the long polls")
        for connection in held:
            connection.sock.settimeout(5)
            response = connection.getresponse()
            body = json.loads(response.read())
            expect(response.status == 200 and body["headPosition"] > start, f"a held /wait after an append: {response.status} {body}")
    finally:
        for connection in held:
            connection.close()


def subscriptions_limit_long_polls(server):
    p = server.port
    start = head(p)
    held = []
    try:
        deadline = time.monotonic() + 10
        held = [hold(p, "/subscribe/$all", deadline) for _ in range(2)]
        expect_all_over_limit(p, [f"/wait?after={start}&timeout=20000", "/documents/subcol/subscribe", "/subscribe/$all"], "two SSE subscriptions")
    finally:
        for connection, _ in held:
            connection.close()
    # Closed subscriptions give their slots back (heartbeats every 0.5 s find the closed connections).
    deadline = time.monotonic() + 10
    while True:
        reply = request(p, "GET", f"/wait?after={start}&timeout=0")
        if reply.status == 200:
            break
        expect(time.monotonic() < deadline, f"10 s after closing both subscriptions, /wait still answers {reply}")
        time.sleep(0.3)


def document_subscriptions_count(server):
    p = server.port
    held = []
    try:
        deadline = time.monotonic() + 10
        held = [hold(p, "/documents/subcol/subscribe", deadline) for _ in range(2)]
        expect_all_over_limit(p, [f"/wait?after={head(p)}&timeout=20000", "/subscribe/$all", "/documents/subcol/subscribe"], "two document subscriptions")
    finally:
        for connection, _ in held:
            connection.close()


# MARK: - Response size (maxResponseBytes 65536)

def read_all_pages(port, path, limit_bytes):
    events, sizes, cursor = [], [], None
    for _ in range(60):
        separator = "&" if "?" in path else "?"
        reply = request(port, "GET", path + (f"{separator}from={cursor}" if cursor is not None else ""))
        expect(reply.status == 200, f"GET {path} from {cursor}: {reply}")
        page = reply.json()
        sizes.append((len(reply.body), len(page["events"])))
        events += page["events"]
        if page["next"] is None:
            return events, sizes
        cursor = page["next"]
    raise Failure(f"GET {path}: more than 60 pages")


def pages_cut_by_size(server):
    p = server.port
    padding = "x" * 10_000
    reply = append(p, "big", [event("big", i=i, pad=padding) for i in range(20)])
    expect(reply.status == 200, f"append 20 events of 10 KB: {reply}")
    for path in ["/streams/big?limit=100", "/streams/$all?prefix=big&limit=100"]:
        events, sizes = read_all_pages(p, path, 65536)
        expect([e["data"]["i"] for e in events] == list(range(20)), f"GET {path}: pages gave {[e['data']['i'] for e in events]}")
        expect(len(sizes) > 1, f"GET {path}: one page of {sizes[0][0]} bytes for 200 KB of events with maxResponseBytes 65536")
        expect(all(size <= 65536 for size, _ in sizes), f"GET {path}: page sizes (bytes, events) {sizes} over maxResponseBytes 65536")


def oversized_event_gets_its_own_page(server):
    p = server.port
    padding = "y" * 100_000
    reply = append(p, "huge", [event("huge", i=0, pad=padding), event("huge", i=1, pad="z")])
    expect(reply.status == 200, f"append a 100 KB event (over maxResponseBytes 65536): {reply}")
    reply = request(p, "GET", "/streams/huge?limit=100")
    page = reply.json() or {}
    expect(reply.status == 200 and len(page.get("events", [])) == 1 and page["events"][0]["data"]["pad"] == padding,
           f"GET /streams/huge: expected a page of exactly the 100 KB event, got {reply.status}, "
           f"{len(page.get('events', []))} events, next {page.get('next')}")
    events, _ = read_all_pages(p, "/streams/huge?limit=100", 65536)
    expect([e["data"]["i"] for e in events] == [0, 1], f"paging /streams/huge gave {[e['data']['i'] for e in events]}")


# MARK: - Connections (idleTimeoutSeconds 2, requestBodyTimeoutSeconds 3)

def served_within(port, seconds, what="GET /health/live"):
    started = time.monotonic()
    if what.startswith("POST"):
        reply = append(port, "well-behaved", headers=None)
    else:
        reply = request(port, "GET", "/health/live", timeout=seconds)
    elapsed = time.monotonic() - started
    expect(reply.status == 200 and elapsed < seconds, f"{what}: {reply} after {elapsed:.1f} s")


def wait_closed(sockets, deadline):
    """Waits until the server closed each socket (EOF or reset); returns how many it closed."""
    selector = selectors.DefaultSelector()
    remaining = set()
    for sock in sockets:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        remaining.add(sock)
    try:
        while remaining and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=max(0.0, min(0.5, deadline - time.monotonic()))):
                try:
                    data = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    selector.unregister(key.fileobj)
                    remaining.discard(key.fileobj)
    finally:
        selector.close()
    return len(sockets) - len(remaining)


def idle_connections_do_not_starve_others(server):
    sockets = []
    try:
        started = time.monotonic()
        for _ in range(2000):
            sockets.append(socket.create_connection((LOOPBACK, server.port), timeout=10))
        opened = time.monotonic() - started
        served_within(server.port, 10, f"GET /health/live with 2,000 idle connections open (opened in {opened:.1f} s)")
        served_within(server.port, 10, "POST /streams/well-behaved with 2,000 idle connections open")
        closed = wait_closed(sockets, time.monotonic() + 15)
        expect(closed == len(sockets), f"idleTimeoutSeconds 2: only {closed} of {len(sockets)} idle connections were closed by the server within 15 s")
    finally:
        for sock in sockets:
            sock.close()
    served_within(server.port, 10, "GET /health/live after the idle connections closed")
    served_within(server.port, 10, "POST /streams/well-behaved after the idle connections closed")


def idle_keep_alive_closed(server):
    sock = socket.create_connection((LOOPBACK, server.port), timeout=10)
    try:
        sock.sendall(f"GET /health/live HTTP/1.1\r\nHost: {server.host}\r\n\r\n".encode())
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            expect(chunk, f"the server closed before answering: {received!r}")
            received += chunk
        expect(parse_status(received) == 200, f"GET /health/live: {received[:200]!r}")
        started = time.monotonic()
        closed = wait_closed([sock], started + 15)
        expect(closed == 1, "a keep-alive connection with no request in flight is still open 15 s after its response (idleTimeoutSeconds 2)")
    finally:
        sock.close()


def trickle(server, opening, drip, limit_seconds):
    """Sends `opening`, then one byte of `drip` every 0.5 s; returns (seconds until the server
    closed the connection or None, bytes it sent, whether a well-behaved client was served meanwhile)."""
    sock = socket.create_connection((LOOPBACK, server.port), timeout=10)
    received, closed_after, served = b"", None, None
    started = time.monotonic()
    try:
        sock.sendall(opening)
        index = 0
        while time.monotonic() - started < limit_seconds:
            if readable(sock, 0.5):
                try:
                    chunk = sock.recv(65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    closed_after = time.monotonic() - started
                    break
                received += chunk
                continue
            try:
                sock.send(drip[index % len(drip):index % len(drip) + 1])
            except OSError:
                closed_after = time.monotonic() - started
                break
            index += 1
            if served is None and time.monotonic() - started > 1:
                served = request(server.port, "GET", "/health/live", timeout=5).status == 200
    finally:
        sock.close()
    return closed_after, received, served


def slowloris_head_cut_off(server):
    closed_after, received, served = trickle(server, f"GET /head HTTP/1.1\r\nHost: {LOOPBACK}\r\n".encode(), b"X-Slowloris: " + b"a" * 200, 15)
    expect(closed_after is not None, f"a request head sent one byte per 500 ms was not closed within 15 s (idleTimeoutSeconds 2); server sent {received[:200]!r}")
    status = parse_status(received)
    expect(status is None or status >= 400, f"the slow head was answered {received[:200]!r}")
    expect(served is True, "a well-behaved client was not served while the slow head was open")
    print(f"     slowloris head closed after {closed_after:.1f} s, answer {received[:40]!r}")


def slow_body_cut_off(server):
    opening = (f"POST /streams/slow-body HTTP/1.1\r\nHost: {LOOPBACK}\r\nContent-Type: application/json\r\n"
               f"Content-Length: 4000\r\n\r\n").encode()
    closed_after, received, served = trickle(server, opening, b" ", 15)
    status = parse_status(received)
    expect(closed_after is not None or (status is not None and status >= 400),
           f"a body sent one byte per 500 ms was neither closed nor refused within 15 s (requestBodyTimeoutSeconds 3); server sent {received[:200]!r}")
    expect(status is None or status >= 400, f"the slow body was answered {received[:200]!r}")
    expect(served is True, "a well-behaved client was not served while the slow body was open")
    expect(request(server.port, "GET", "/streams/slow-body").status == 404, "stream slow-body exists")
    print(f"     slow body closed after {closed_after if closed_after is None else round(closed_after, 1)} s, answer {received[:40]!r}")


def oversized_heads_refused(server):
    big = f"GET /head HTTP/1.1\r\nHost: {server.host}\r\nX-Big: {'b' * 65536}\r\n\r\n".encode()
    many = (f"GET /head HTTP/1.1\r\nHost: {server.host}\r\n" + "".join(f"X-Header-{i}: v\r\n" for i in range(500)) + "\r\n").encode()
    long_line = f"GET /head?{'q' * 65536}=1 HTTP/1.1\r\nHost: {server.host}\r\n\r\n".encode()
    wrong = []
    for what, data in [("one 64 KiB header", big), ("500 headers", many), ("a 64 KiB request line", long_line)]:
        for first in (True, False):
            prelude = b"" if first else f"GET /health/live HTTP/1.1\r\nHost: {server.host}\r\n\r\n".encode()
            status, received, closed = raw_exchange(server.port, prelude + data, timeout=10, answers=1 if first else 2)
            where = "as a connection's first request" if first else "after a well-formed request on the same connection"
            seen = (f"status {status}: {received[-200:]!r}" if status is not None
                    else "the connection was closed without an answer" if closed
                    else f"no answer, and the connection still open, after 10 s (idleTimeoutSeconds 2); received {received[:200]!r}")
            if not (status == 431 or (status is not None and 400 <= status < 500) or (status is None and closed)):
                wrong.append(f"{what} {where}: got {seen}")
            served_within(server.port, 10, f"GET /health/live after {what} {where}")
    expect(not wrong, "expected 431 or a close without 2xx:\n  " + "\n  ".join(wrong))


def heads_within_limits_served(server):
    for what, headers in [("a 12 KiB header", {"X-Large": "l" * 12 * 1024}), ("90 headers", {f"X-Header-{i}": "v" for i in range(90)})]:
        reply = request(server.port, "GET", "/head", headers=headers)
        expect(reply.status == 200, f"GET /head with {what} (within maxHeaderBytes 16384 and maxHeaderCount 100): {reply}")


def over_connection_cap_recovers(server):
    sockets = []
    try:
        for _ in range(60):
            sockets.append(socket.create_connection((LOOPBACK, server.port), timeout=10))
        started, last = time.monotonic(), None
        while time.monotonic() - started < 20:
            try:
                reply = request(server.port, "GET", "/health/live", timeout=max(1.0, 20 - (time.monotonic() - started)))
                if reply.status == 200:
                    break
                last = reply
            except (OSError, http.client.HTTPException) as error:
                last = repr(error)
            time.sleep(0.2)
        else:
            raise Failure(f"maxConnections 20 with 60 idle connections: no well-behaved request served in 20 s (last: {last})")
        print(f"     served after {time.monotonic() - started:.1f} s with 60 idle connections against maxConnections 20")
    finally:
        for sock in sockets:
            sock.close()
    served_within(server.port, 10, "GET /health/live after closing the idle connections")


# MARK: - Main

def server_gone(server):
    raise Failure(f"the server exited with status {server.process.returncode} before this check: {server.stderr()!r}")


def group(root, name, config, checks, cwd=None):
    print(f"-- {name}", flush=True)
    try:
        server = Server(name, config, root, cwd=cwd)
    except Failure as failure:
        global failed
        for check_name, _, _ in checks:
            failed += 1
            print(f"FAIL {check_name}: {failure}", flush=True)
        failed += 1
        print(f"FAIL {name} server stops with status 0: it never started", flush=True)
        return
    try:
        for check_name, function, args in checks:
            if server.process.poll() is not None:
                run(check_name, server_gone, server)
            else:
                run(check_name, function, server, *args)
    finally:
        code = server.stop()
        run(f"{name} server stops with status 0 after the checks",
            lambda: expect(code == 0, f"exit status {code}; stderr: {server.stderr()!r}"))


def raise_file_limit(needed=8192):
    """2,000 held connections need as many descriptors in this process and in the server it
    starts (which inherits the limit): raise the soft limit towards the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def main():
    started = time.monotonic()
    raise_file_limit()
    root = tempfile.mkdtemp(prefix="strata-hostile-")
    try:
        group(root, "browser-rules", {"allowedHosts": ["strata.test"], "allowedOrigins": [ALLOWED_ORIGIN], "heartbeatSeconds": 1}, [
            ("loopback and allowedHosts Host names are served (no-key mode)", loopback_hosts_accepted, ()),
            ("other Host names are refused in no-key mode (DNS rebinding)", rebinding_hosts_refused, ()),
            ("a foreign Origin is refused on every route", foreign_origin_refused_on_every_route, ()),
            ("origins that only resemble the own or an allowed one are refused", origin_spellings_refused, ()),
            ("the server's own origin is served", own_origin_served, ()),
            ("an allowed origin is served with CORS headers; none without Origin", allowed_origin_gets_cors_headers, ()),
            ("a preflight from an allowed origin is answered, a foreign one refused", preflight_answered_for_allowed_origin, ()),
            ("WebSocket upgrades: foreign Origin not upgraded (400; 403 without Upgrade), own and allowed upgraded", websocket_upgrade_origin_checked, ()),
            ("WebSocket upgrades with a rebinding Host are refused (no 101)", websocket_upgrade_host_checked, ()),
            ("POST, PUT and PATCH without a JSON Content-Type are refused with 415 and store nothing", writes_need_json_content_type, ()),
            ("application/json with parameters and in any case is accepted", json_content_type_parameters_accepted, ()),
            ("/ingest takes JSON only", ingest_takes_json_only, ()),
        ])

        documents_root = os.path.join(root, "documents-root")
        documents = os.path.join(documents_root, "a", "b", "c", "docs")
        os.makedirs(documents)
        cwd = os.path.join(documents_root, "cwd")
        os.makedirs(cwd)
        traversal_checks = [(f"traversal names refused: {method} {template}", traversal_refused, (method, template, body))
                            for method, template, body in COLLECTION_ROUTES]
        # The server's own folder (its configuration and log) is made when it starts.
        before = snapshot(root, os.path.abspath(documents)) | {"documents", os.path.join("documents", "config.json"),
                                                                 os.path.join("documents", "stderr.log")}
        group(root, "documents", {"documentsDirectory": documents, "limits": {"maxOpenCollections": 2}}, [
            ("valid collection names are served, other characters and lengths refused", collection_names_checked, ()),
            *traversal_checks,
            ("admin files are not reached through traversal", admin_files_not_traversed, ()),
            ("documents of a missing collection answer 404 collection-not-found without opening it", missing_collection_not_opened, (documents,)),
            ("with maxOpenCollections 2, five collections are still served", open_collection_cap_keeps_serving, ()),
            ("nothing was created outside documentsDirectory", lambda server: nothing_created_outside(documents, root, before), ()),
        ], cwd=cwd)

        keys = [{"name": "admin", "key": ADMIN_KEY, "scopes": ["admin"]}, {"name": "reader", "key": READ_KEY, "scopes": ["read"]}]
        group(root, "keys", {"apiKeys": keys, "allowedOrigins": [ALLOWED_ORIGIN]}, [
            ("a read-only key's writes are refused with 403 and store nothing", read_only_key_cannot_write, ()),
            ("a read-only key reads (Bearer, X-API-Key, api_key)", read_only_key_can_read, ()),
            ("with keys configured the Host is not checked", host_not_checked_with_keys, ()),
            ("with keys configured a foreign Origin is still refused", origin_checked_with_keys, ()),
            ("a preflight needs no key", preflight_answered_for_allowed_origin, ()),
            ("WebSocket upgrades with a key: foreign Origin refused", websocket_upgrade_origin_checked, (ADMIN_KEY,)),
        ])

        def digest(key):
            return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
        rotation = [{"name": "app", "key": ROTATED_OLD, "scopes": ["read", "write"]},
                    {"name": "app", "keyHash": digest(ROTATED_NEW), "scopes": ["read", "write"]},
                    {"name": "ops", "keyHash": digest(HASHED_ADMIN), "scopes": ["admin"]}]
        group(root, "key-rotation", {"apiKeys": rotation}, [
            ("hashed keys and two keys under one name authenticate; others do not", hashed_and_rotated_keys, ()),
        ])

        group(root, "subscribers", {"limits": {"maxSubscribersPerKey": 2}, "heartbeatSeconds": 0.5}, [
            ("CORS is off without allowedOrigins", cors_off_by_default, ()),
            ("/wait long polls count against maxSubscribersPerKey", long_polls_count_as_subscribers, ()),
            ("SSE subscriptions leave no slot for long polls; closing them frees it", subscriptions_limit_long_polls, ()),
            ("document subscriptions count against maxSubscribersPerKey", document_subscriptions_count, ()),
        ])

        group(root, "response-size", {"limits": {"maxResponseBytes": 65536}}, [
            ("read pages are cut by maxResponseBytes and next continues", pages_cut_by_size, ()),
            ("an event larger than maxResponseBytes is a page of its own", oversized_event_gets_its_own_page, ()),
        ])

        group(root, "connections", {"limits": {"idleTimeoutSeconds": 2, "requestBodyTimeoutSeconds": 3}}, [
            ("2,000 idle connections: others are served, and the server closes them after the idle timeout", idle_connections_do_not_starve_others, ()),
            ("a keep-alive connection is closed after the idle timeout", idle_keep_alive_closed, ()),
            ("slowloris: a head sent a byte per 500 ms is cut off", slowloris_head_cut_off, ()),
            ("a body sent a byte per 500 ms is cut off (requestBodyTimeoutSeconds 3)", slow_body_cut_off, ()),
            ("oversized request heads are refused and the server keeps serving", oversized_heads_refused, ()),
            ("heads within the limits are served", heads_within_limits_served, ()),
        ])

        group(root, "connection-cap", {"limits": {"maxConnections": 20, "idleTimeoutSeconds": 2}}, [
            ("over maxConnections the server recovers and serves a well-behaved client", over_connection_cap_recovers, ()),
        ])
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"({time.monotonic() - started:.0f} s)")
    print(f"hostile clients: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
