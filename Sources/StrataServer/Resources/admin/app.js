// The admin page: only the public HTTP API (docs/SERVER.md), no build step.
"use strict";

// The key stays in this tab only (sessionStorage, never localStorage) and travels in the
// Authorization header, never in a URL (URLs end up in logs and history).
const keyInput = document.getElementById("api-key");
keyInput.value = sessionStorage.getItem("strata-api-key") || "";
keyInput.addEventListener("change", () => { sessionStorage.setItem("strata-api-key", keyInput.value); startTail(); refresh(); });

function authHeaders() {
  const key = keyInput.value.trim();
  return key ? { "Authorization": "Bearer " + key } : {};
}

async function api(path) {
  const response = await fetch(path, { headers: authHeaders() });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ? body.error.code + ": " + body.error.message : response.statusText);
  return body;
}

async function apiPost(path) {
  const response = await fetch(path, { method: "POST", headers: { ...authHeaders(), "Content-Type": "application/json" }, body: "{}" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ? body.error.code + ": " + body.error.message : response.statusText);
  return body;
}

function text(tag, content, className) {
  const element = document.createElement(tag);
  element.textContent = content;
  if (className) element.className = className;
  return element;
}

function eventItem(event) {
  const item = document.createElement("li");
  item.dataset.position = event.position;
  item.appendChild(text("div", `#${event.position} ${event.stream}@${event.revision} ${event.type}`));
  item.appendChild(text("div", JSON.stringify(event.data)));
  item.appendChild(text("div", event.recordedAt + (event.metadata ? " " + JSON.stringify(event.metadata) : ""), "meta"));
  return item;
}

// Stats and the appends/s chart (the last 60 samples, one a second).
const rates = [];
async function refreshStats() {
  try {
    const stats = await api("/stats");
    document.getElementById("stat-head").textContent = stats.headPosition;
    document.getElementById("stat-streams").textContent = stats.streamCount;
    document.getElementById("stat-bytes").textContent = stats.bytesOnDisk.toLocaleString();
    document.getElementById("stat-rate").textContent = stats.appendsPerSecond.toFixed(1);
    document.getElementById("stat-subscribers").textContent = stats.subscribers;
    rates.push(stats.appendsPerSecond);
    if (rates.length > 60) rates.shift();
    const max = Math.max(1, ...rates);
    const points = rates.map((r, i) => `${(i / 59) * 300},${60 - (r / max) * 56 - 2}`).join(" ");
    document.getElementById("rate-line").setAttribute("points", points);
  } catch (error) {
    document.getElementById("stat-head").textContent = error.message;
  }
}

async function refreshConsumers() {
  try {
    const answer = await api("/consumers");
    const body = document.querySelector("#consumers tbody");
    body.replaceChildren(...answer.consumers.map(c => {
      const row = document.createElement("tr");
      row.append(text("td", c.name), text("td", c.checkpoint ?? "–"), text("td", c.lag));
      return row;
    }));
    document.getElementById("consumers-empty").hidden = answer.consumers.length > 0;
  } catch (error) { /* shown by the stats panel */ }
}

// Persistent subscription groups (docs/SERVER.md, "Persistent subscriptions"): every group,
// with the figures of those this server runs ("elsewhere": another instance runs it), and a
// "replay parked" action (an admin key's).
const subscriptionsStatus = document.getElementById("subscriptions-status");
function groupPath(s) { return `/subscriptions/${encodeURIComponent(s.stream)}/${encodeURIComponent(s.group)}`; }

async function refreshSubscriptions() {
  const body = document.querySelector("#subscriptions tbody");
  try {
    const answer = await api("/subscriptions");
    body.replaceChildren(...answer.subscriptions.map(s => {
      const row = document.createElement("tr");
      row.dataset.name = `${s.stream}::${s.group}`;
      const st = s.stats;
      const figure = value => text("td", st ? String(value(st)) : "–");
      const connections = st ? st.connections.map(c => `${c.consumer} (${c.inFlight})`).join(", ") : "";
      row.append(text("td", `${s.stream}::${s.group}`), text("td", st ? st.status : "elsewhere"),
                 figure(x => x.lastCheckpoint ?? "–"), figure(x => x.lastKnownEvent), figure(x => x.inFlightCount),
                 figure(x => x.retryBufferCount), figure(x => x.parkedCount), figure(x => x.totalAcked), figure(x => x.totalNacked),
                 text("td", connections));
      const action = document.createElement("td");
      if (st) {
        const button = text("button", "replay parked", "replay");
        button.disabled = st.parkedCount === 0;
        button.addEventListener("click", async () => {
          try {
            const replayed = await apiPost(groupPath(s) + "/replayParked");
            subscriptionsStatus.textContent = `${row.dataset.name}: ${replayed.queued} replayed`;
          } catch (error) { subscriptionsStatus.textContent = error.message; }
          refreshSubscriptions();
        });
        action.appendChild(button);
      }
      row.appendChild(action);
      return row;
    }));
    document.getElementById("subscriptions-empty").hidden = answer.subscriptions.length > 0;
  } catch (error) {
    body.replaceChildren();
    document.getElementById("subscriptions-empty").hidden = false;
    subscriptionsStatus.textContent = error.message.startsWith("unsupported") ? "not enabled on this server" : error.message;
  }
}

// Streams, listed 100 at a time.
let streamsAfter = null;
async function loadStreams(reset) {
  if (reset) { streamsAfter = null; document.getElementById("streams").replaceChildren(); }
  const prefix = document.getElementById("stream-prefix").value;
  let path = "/streams?limit=100&prefix=" + encodeURIComponent(prefix);
  if (streamsAfter) path += "&after=" + encodeURIComponent(streamsAfter);
  const page = await api(path);
  const list = document.getElementById("streams");
  for (const name of page.streams) {
    const item = text("li", name);
    item.addEventListener("click", () => {
      list.querySelectorAll(".selected").forEach(e => e.classList.remove("selected"));
      item.classList.add("selected");
      showStream(name, "end");
    });
    list.appendChild(item);
  }
  streamsAfter = page.next;
  document.getElementById("streams-more").hidden = !page.next;
}
document.getElementById("stream-prefix").addEventListener("input", () => loadStreams(true));
document.getElementById("streams-more").addEventListener("click", () => loadStreams(false));

// Events of one stream, newest first, 20 a page.
let current = { stream: "$all", history: [] };
async function showStream(stream, from) {
  if (stream !== current.stream) current = { stream, history: [] };
  const page = await api(`/streams/${encodeURIComponent(stream)}?direction=backward&limit=20&from=${from}`);
  document.getElementById("events-title").textContent = stream;
  document.getElementById("events").replaceChildren(...page.events.map(eventItem));
  current.from = from;
  current.next = page.next;
  document.getElementById("events-next").disabled = page.next === null;
  document.getElementById("events-prev").disabled = current.history.length === 0;
}
document.getElementById("events-next").addEventListener("click", () => {
  current.history.push(current.from);
  showStream(current.stream, current.next);
});
document.getElementById("events-prev").addEventListener("click", () => showStream(current.stream, current.history.pop()));

// Live tail of $all over SSE, read with fetch (EventSource cannot send a header), resuming by
// itself after the last event seen; keeps the newest 200.
let tail = null;
function startTail() {
  if (tail) tail.abort();
  const controller = new AbortController();
  tail = controller;
  const status = document.getElementById("tail-status");
  let lastEventId = null;
  const show = (event, data) => {
    // "live" only once the server says the subscription caught up: from then on every append shows.
    if (event === "caught-up") { status.textContent = "live"; return; }
    if (event !== "message") return;
    const list = document.getElementById("tail");
    list.prepend(eventItem(JSON.parse(data)));
    while (list.children.length > 200) list.lastChild.remove();
  };
  (async () => {
    while (!controller.signal.aborted) {
      try {
        const headers = authHeaders();
        if (lastEventId !== null) headers["Last-Event-ID"] = lastEventId;
        const response = await fetch("/subscribe/$all?from=end", { headers, signal: controller.signal });
        if (!response.ok) throw new Error(response.statusText);
        status.textContent = "catching up";
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let event = "message", data = [];
            for (const line of frame.split("\n")) {
              if (line.startsWith("event:")) event = line.slice(6).trim();
              else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
              else if (line.startsWith("id:")) lastEventId = line.slice(3).trim();
            }
            if (data.length) show(event, data.join("\n"));
          }
        }
      } catch (error) {
        if (controller.signal.aborted) return;
      }
      status.textContent = "reconnecting";
      await new Promise(resolve => setTimeout(resolve, 1000));
    }
  })();
}

// Documents of one collection (docs/SERVER.md, "Documents"). The server keeps no list of
// collections, so the collection's name is typed. Its keys come a page at a time (a page is cut
// by size; its `next` continues it); a clicked key shows the document and its meta.
const documents = { collection: null, after: null, generation: 0, shown: null };
const documentsStatus = document.getElementById("documents-status");

async function loadDocumentKeys(reset) {
  const collection = documents.collection;
  const list = document.getElementById("document-keys");
  if (reset) {
    documents.generation += 1;
    documents.after = null;
    documents.shown = null;
    list.replaceChildren();
    document.getElementById("document-view").hidden = true;
    document.getElementById("document-keys-more").hidden = true;
  }
  if (!collection) return;
  // A reset while this page was on its way makes it stale: it is dropped, not appended.
  const generation = documents.generation;
  let path = `/documents/${encodeURIComponent(collection)}/keys`;
  if (documents.after !== null) path += "?after=" + encodeURIComponent(documents.after);
  try {
    const page = await api(path);
    if (generation !== documents.generation) return;
    for (const key of page.keys) {
      const item = text("li", key);
      item.addEventListener("click", () => {
        list.querySelectorAll(".selected").forEach(e => e.classList.remove("selected"));
        item.classList.add("selected");
        showDocument(collection, key);
      });
      list.appendChild(item);
    }
    documents.after = page.next ?? null;
    document.getElementById("document-keys-more").hidden = documents.after === null;
    const count = list.children.length;
    documentsStatus.textContent = count === 0 ? "no documents" : `${count}${documents.after === null ? "" : "+"} key${count === 1 ? "" : "s"}`;
  } catch (error) {
    if (generation === documents.generation) documentsStatus.textContent = error.message;
  }
}

async function showDocument(collection, key) {
  documents.shown = key;
  try {
    const answer = await api(`/documents/${encodeURIComponent(collection)}/${encodeURIComponent(key)}`);
    if (documents.shown !== key || documents.collection !== collection) return;
    document.getElementById("document-key").textContent = key;
    document.getElementById("document-changes").textContent = answer.meta.changes;
    document.getElementById("document-created").textContent = answer.meta.dateCreated;
    document.getElementById("document-modified").textContent = answer.meta.dateModified;
    document.getElementById("document-json").textContent = JSON.stringify(answer.data, null, 2);
    document.getElementById("document-view").hidden = false;
  } catch (error) {
    if (documents.shown === key) documentsStatus.textContent = error.message;
  }
}

document.getElementById("documents-form").addEventListener("submit", event => {
  event.preventDefault();
  documents.collection = document.getElementById("documents-collection").value.trim() || null;
  document.getElementById("documents-title").textContent = documents.collection ?? "";
  loadDocumentKeys(true);
});
document.getElementById("document-keys-more").addEventListener("click", () => loadDocumentKeys(false));

function refresh() {
  refreshStats();
  refreshConsumers();
  refreshSubscriptions();
  loadStreams(true).catch(() => {});
  showStream("$all", "end").catch(() => {});
  loadDocumentKeys(true);
}

startTail();
refresh();
setInterval(refreshStats, 1000);
setInterval(refreshConsumers, 5000);
setInterval(refreshSubscriptions, 5000);
