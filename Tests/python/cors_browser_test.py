#!/usr/bin/env python3
"""CORS as a real browser sees it: headless Chromium calls `strata serve` from two web pages.

Starts two plain Python web servers on loopback ports, each serving a small page from a
temporary folder, and `strata serve` (memory store, an API key) whose `allowedOrigins` holds
the first one's origin only. Chromium loads each page (`--dump-dom`); the page's script calls
strata with `fetch` (a simple GET with `?api_key=`, a GET with `Authorization`, and a POST
with `Content-Type: application/json` and `Authorization`, both preflighted) and writes each
outcome into the page. From the allowed origin every call must succeed; from the other one every
call must be rejected by the browser, and nothing it tried to write may be stored (checked with
plain Python requests afterwards).

Usage: python3 Tests/python/cors_browser_test.py PATH/TO/strata
Prints 'cors browser: N passed, N failed' last (skipped, with exit status 0, without Chromium).
"""
import functools
import html
import http.client
import http.server
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

STRATA = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", ".build", "debug", "strata")
CHROMIUM = "/usr/bin/chromium"
KEY = "cors-browser-key-0123456789abcdef"
LOOPBACK = "127.0.0.1"
passed = failed = 0

PAGE = """<!doctype html>
<html>
<head><meta charset="utf-8"><title>strata cors</title></head>
<body>
<pre id="simple-get">pending</pre>
<pre id="auth-get">pending</pre>
<pre id="post">pending</pre>
<pre id="done">no</pre>
<script>
const base = "http://127.0.0.1:STRATA_PORT";
const key = "STRATA_KEY";
const stream = "STREAM";
async function attempt(id, call) {
  const out = document.getElementById(id);
  try {
    const response = await call();
    out.textContent = "status " + response.status + " " + (await response.text());
  } catch (error) {
    out.textContent = "rejected " + error.name + ": " + error.message;
  }
}
(async () => {
  await attempt("simple-get", () => fetch(base + "/head?api_key=" + key));
  await attempt("auth-get", () => fetch(base + "/head", {headers: {"Authorization": "Bearer " + key}}));
  await attempt("post", () => fetch(base + "/streams/" + stream, {
    method: "POST",
    headers: {"Content-Type": "application/json", "Authorization": "Bearer " + key},
    body: JSON.stringify({events: [{type: "from-browser", data: {origin: location.origin}}]}),
  }));
  document.getElementById("done").textContent = "yes";
})();
</script>
</body>
</html>
"""


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def page_server(directory):
    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), functools.partial(QuietHandler, directory=directory))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    return server


def get(port, path):
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {KEY}"})
        response = connection.getresponse()
        body = response.read()
        try:
            return response.status, json.loads(body)
        except ValueError:
            return response.status, body
    finally:
        connection.close()


def load(url, profile):
    """The page's DOM after Chromium ran its scripts, as a dict of the outcome elements."""
    command = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}",
               "--dump-dom", "--virtual-time-budget=8000", url]
    browser = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               text=True, start_new_session=True)
    try:
        dom, errors = browser.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(browser.pid, signal.SIGKILL)
        browser.communicate(timeout=20)
        return None, "Chromium did not finish within 60 s"
    outcomes = {m.group(1): html.unescape(m.group(2)) for m in re.finditer(r'<pre id="([a-z-]+)">(.*?)</pre>', dom, re.S)}
    if not outcomes:
        return None, f"no outcomes in the dumped DOM (exit {browser.returncode}): {dom[:400]!r} {errors[-600:]!r}"
    return outcomes, dom


def main():
    if not os.access(CHROMIUM, os.X_OK):
        print("cors browser: 0 passed, 0 failed (skipped: no chromium)")
        return 0
    root = tempfile.mkdtemp(prefix="strata-cors-")
    pages = os.path.join(root, "pages")
    os.makedirs(pages)
    allowed_site, foreign_site, strata = page_server(pages), page_server(pages), None
    try:
        allowed_origin = f"http://{LOOPBACK}:{allowed_site.server_address[1]}"
        foreign_origin = f"http://{LOOPBACK}:{foreign_site.server_address[1]}"
        config = os.path.join(root, "config.json")
        with open(config, "w") as file:
            json.dump({"version": 1, "allowedOrigins": [allowed_origin],
                       "apiKeys": [{"name": "browser", "key": KEY, "scopes": ["read", "write"]}]}, file)
        log = open(os.path.join(root, "strata.log"), "w")
        strata = subprocess.Popen([STRATA, "serve", "--store", "memory:", "--port", "0", "--config", config],
                                  stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True)
        ready, _, _ = select.select([strata.stdout], [], [], 20)
        line = strata.stdout.readline().strip() if ready else ""
        if not line.startswith("listening http://"):
            log.flush()
            check("strata starts with allowedOrigins", False, f"stdout {line!r}, stderr {open(log.name).read()[-1000:]!r}")
            return finish()
        port = int(line.rsplit(":", 1)[1])
        for name, stream in [("allowed.html", "cors-ok"), ("foreign.html", "cors-foreign")]:
            with open(os.path.join(pages, name), "w") as file:
                file.write(PAGE.replace("STRATA_PORT", str(port)).replace("STRATA_KEY", KEY).replace("STREAM", stream))

        outcomes, dom = load(f"{allowed_origin}/allowed.html", os.path.join(root, "profile-allowed"))
        if outcomes is None:
            check(f"page on the allowed origin {allowed_origin} ran", False, dom)
        else:
            check("allowed origin: the page's script finished", outcomes.get("done") == "yes", outcomes)
            check("allowed origin: simple GET /head?api_key= is readable",
                  outcomes.get("simple-get", "").startswith("status 200 ") and "headPosition" in outcomes["simple-get"], outcomes.get("simple-get"))
            check("allowed origin: GET /head with Authorization (preflighted) is readable",
                  outcomes.get("auth-get", "").startswith("status 200 ") and "headPosition" in outcomes["auth-get"], outcomes.get("auth-get"))
            check("allowed origin: POST /streams/cors-ok with JSON and Authorization (preflighted) succeeds",
                  outcomes.get("post", "").startswith("status 200 ") and '"lastRevision":1' in outcomes["post"], outcomes.get("post"))

        outcomes, dom = load(f"{foreign_origin}/foreign.html", os.path.join(root, "profile-foreign"))
        if outcomes is None:
            check(f"page on the foreign origin {foreign_origin} ran", False, dom)
        else:
            check("foreign origin: the page's script finished", outcomes.get("done") == "yes", outcomes)
            for element in ["simple-get", "auth-get", "post"]:
                check(f"foreign origin: {element} is rejected by the browser", outcomes.get(element, "").startswith("rejected TypeError"),
                      outcomes.get(element))

        status, body = get(port, "/streams/cors-ok")
        events = body.get("events", []) if isinstance(body, dict) else []
        check("the allowed origin's event is stored", status == 200 and len(events) == 1 and events[0]["type"] == "from-browser"
              and events[0]["data"] == {"origin": allowed_origin}, f"{status} {body}")
        status, body = get(port, "/streams/cors-foreign")
        check("nothing from the foreign origin is stored", status == 404, f"{status} {body}")
        return finish()
    finally:
        for site in (allowed_site, foreign_site):
            site.shutdown()
            site.server_close()
        if strata is not None and strata.poll() is None:
            strata.send_signal(signal.SIGTERM)
            try:
                strata.wait(timeout=20)
            except subprocess.TimeoutExpired:
                strata.kill()
                strata.wait(timeout=20)
        shutil.rmtree(root, ignore_errors=True)


def finish():
    print(f"cors browser: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
