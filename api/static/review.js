// The review page: one leased item at a time, keyboard only. Plain JS, no build step.
// Images need the API key, so they are fetched as blobs (and prefetched for the next item).
"use strict";

const KEY_STORAGE = "docextract-review-key";
// Items asked for at a time: whole documents are leased until at least this many are held.
const QUEUE_SIZE = 30;
const $ = (id) => document.getElementById(id);

const state = {
  key: sessionStorage.getItem(KEY_STORAGE),
  items: [], // from GET /v1/review/items, plus `_state`: open | saving | done | lost
  index: -1,
  documents: new Map(), // document id → Promise of GET /v1/review/documents/{id}
  blobs: new Map(), // url → Promise of an object URL
  saves: Promise.resolve(), // decisions are sent one after another, in order
  showing: 0, // guards against an older `show` finishing after a newer one
};

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, { method = "GET", body } = {}) {
  const headers = { Authorization: `Bearer ${state.key}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) {
    const detail = await response.json().then((j) => j.detail, () => response.statusText);
    throw new ApiError(response.status, typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return response;
}

const getJson = async (path, options) => (await api(path, options)).json();

// A cached request; a failed one is forgotten so that the next use tries again.
function cached(cache, key, load) {
  if (!cache.has(key)) {
    const loading = load();
    loading.catch(() => cache.delete(key));
    cache.set(key, loading);
  }
  return cache.get(key);
}

const blobUrl = (url) => cached(state.blobs, url, () => api(url).then(async (r) => URL.createObjectURL(await r.blob())));

function reviewDocument(id, { fresh = false } = {}) {
  if (fresh) state.documents.delete(id);
  return cached(state.documents, id, () => getJson(`/v1/review/documents/${id}`));
}

function say(message, isError = false) {
  const line = $("status-line");
  line.textContent = message;
  line.classList.toggle("error", isError);
}

const shortCode = (code) => code.replace(/^GK\d+-/, "");
const orDash = (value) => (value === null || value === undefined ? "—" : String(value));

// -- login ------------------------------------------------------------------------------------

async function logIn(key) {
  state.key = key;
  try {
    await loadQueue();
  } catch (error) {
    sessionStorage.removeItem(KEY_STORAGE);
    state.key = null;
    $("login-error").textContent = error.status === 401 ? "Unknown key." : error.message;
    $("key").focus();
    return;
  }
  sessionStorage.setItem(KEY_STORAGE, key);
  $("login").hidden = true;
  $("review").hidden = false;
  $("logout").hidden = false;
  showNextOpen(0);
}

function logOut() {
  sessionStorage.removeItem(KEY_STORAGE);
  location.reload();
}

// -- the queue --------------------------------------------------------------------------------

async function loadQueue() {
  const fresh = await getJson(`/v1/review/items?limit=${QUEUE_SIZE}`);
  const known = new Set(state.items.map((i) => i.id));
  for (const item of fresh) {
    if (!known.has(item.id)) state.items.push({ ...item, _state: "open" });
  }
  fresh.forEach((item) => reviewDocument(item.document_id));
  renderQueue();
}

function nextOpen(from, step) {
  const n = state.items.length;
  for (let k = 0; k < n; k++) {
    const i = (((from + step * k) % n) + n) % n;
    if (state.items[i]._state === "open") return i;
  }
  return -1;
}

function showNextOpen(from, step = 1) {
  const i = nextOpen(from, step);
  if (i < 0) {
    state.index = -1;
    $("item").hidden = true;
    $("empty").hidden = false;
    renderQueue();
    return;
  }
  show(i);
}

function renderQueue() {
  const list = $("queue");
  list.replaceChildren(
    ...state.items.map((item, i) => {
      const li = document.createElement("li");
      li.textContent = `${shortCode(item.code)} ${item.label.slice(0, 24)} — ${item._outcome || item._state}`;
      li.className = `${item._state}${i === state.index ? " current" : ""}`;
      return li;
    }),
  );
  const open = state.items.filter((i) => i._state === "open").length;
  $("progress").textContent = `${open} open of ${state.items.length}`;
}

// -- one item ---------------------------------------------------------------------------------

async function show(i) {
  const token = ++state.showing;
  state.index = i;
  const item = state.items[i];
  $("empty").hidden = true;
  $("item").hidden = false;
  $("item-code").textContent = item.code;
  $("item-label").textContent = item.label;
  $("item-label-read").textContent = orDash(item.label_read);
  $("item-unit").textContent = item.unit;
  $("item-text").textContent = orDash(item.text);
  $("item-value").textContent = orDash(shownValue(item));
  renderReasons(item.reasons);
  const input = $("value");
  input.value = "";
  input.inputMode = takesText(item) ? "text" : "decimal";
  input.placeholder = `${orDash(shownValue(item))} (Enter confirms)`;
  input.focus();
  renderQueue();
  prefetch(nextOpen(i + 1, 1));

  // Never show the previous item's crop for this one: images are blank until theirs arrive.
  setImage($("crop"), null);
  setImage($("row-crop"), null);
  const images = item.crop_url
    ? Promise.all([blobUrl(item.crop_url), blobUrl(`${item.crop_url}?row=true`)]).then(([crop, row]) => {
        if (token !== state.showing) return;
        setImage($("crop"), crop, 3, item.code);
        setImage($("row-crop"), row, 1, item.code);
      })
    : null;
  try {
    const view = await reviewDocument(item.document_id);
    if (token !== state.showing) return;
    showDocumentInfo(view);
    renderChecks(item, view);
    renderNeighbours(item, view);
    await Promise.all([renderOverview(item, view, token), images]);
  } catch (error) {
    say(`${shortCode(item.code)}: ${error.message}`, true);
  }
}

// A report item is the unit name (typed as text) or the year; a field item is a number.
function takesText(item) {
  return item.code === "report.unit_name";
}

function shownValue(item) {
  return takesText(item) ? item.value_text : item.value;
}

function setImage(img, url, scale = 1, code = "") {
  img.hidden = !url;
  img.dataset.code = code;
  if (!url) {
    img.removeAttribute("src");
    return;
  }
  img.onload = () => {
    img.style.width = `${Math.min(img.naturalWidth * scale, 720)}px`;
  };
  img.src = url;
}

function prefetch(i) {
  if (i < 0) return;
  const item = state.items[i];
  if (item.crop_url) {
    blobUrl(item.crop_url);
    blobUrl(`${item.crop_url}?row=true`);
  }
  if (item.image_url) blobUrl(item.image_url);
  reviewDocument(item.document_id);
}

function renderReasons(reasons) {
  $("item-reasons").replaceChildren(
    ...reasons.map((r) => Object.assign(document.createElement("span"), { className: "reason", textContent: r })),
  );
}

function renderChecks(item, view) {
  const field = view.fields.find((f) => f.code === item.code);
  if (field) renderReasons(field.reasons); // re-validation may have changed them
  const rows = view.checks
    .filter((c) => c.target === item.code || c.terms.includes(item.code))
    .map((c) => {
      const li = document.createElement("li");
      const terms = c.terms.map(shortCode);
      const formula =
        c.kind === "sum" ? `${shortCode(c.target)} = ${terms.join(" + ")}` : `${terms.join(", ")} ≤ ${shortCode(c.target)}`;
      const numbers =
        c.kind === "sum" ? `: ${orDash(c.actual)} printed, the terms add up to ${orDash(c.expected)}` : `: ${orDash(c.actual)}`;
      li.textContent = `${formula}${numbers} ${c.holds ? "✓" : "✗"}`;
      li.className = c.holds ? "holds" : "fails";
      return li;
    });
  $("item-checks").replaceChildren(...(rows.length ? rows : [Object.assign(document.createElement("li"), { textContent: "none" })]));
}

function renderNeighbours(item, view) {
  // A report item's neighbours are the report's unit name and year.
  const entries = item.kind === "report" ? view.report : view.fields;
  const at = entries.findIndex((f) => f.code === item.code);
  const rows = entries.slice(Math.max(0, at - 2), at + 3).map((f) => {
    const tr = document.createElement("tr");
    for (const text of [shortCode(f.code), f.label_read || f.label, orDash(f.value), f.status]) {
      tr.append(Object.assign(document.createElement("td"), { textContent: text }));
    }
    if (f.code === item.code) tr.className = "current";
    return tr;
  });
  $("neighbours").tBodies[0].replaceChildren(...rows);
}

async function renderOverview(item, view, token) {
  const pageInfo = view.pages.find((p) => p.number === item.page);
  if (!pageInfo) return;
  const img = $("page");
  const url = await blobUrl(pageInfo.image_url);
  if (token !== state.showing) return;
  if (img.src !== url) {
    img.src = url;
    await img.decode().catch(() => undefined);
  }
  const svg = $("boxes");
  svg.setAttribute("viewBox", `0 0 ${img.naturalWidth} ${img.naturalHeight}`);
  const rects = [...view.report.filter((r) => r.code === item.code), ...view.fields]
    .filter((f) => f.page === item.page && f.bbox)
    .map((f) => {
      const [x0, y0, x1, y1] = f.bbox;
      const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
      Object.entries({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 }).forEach(([k, v]) => rect.setAttribute(k, v));
      rect.setAttribute("class", `${f.status}${f.code === item.code ? " current" : ""}`);
      rect.dataset.code = f.code;
      return rect;
    });
  svg.replaceChildren(...rects);
}

// -- decisions --------------------------------------------------------------------------------

function parseValue(raw) {
  const text = raw.normalize("NFKC").replace(/[,\s]/g, "");
  if (/^[-—―/]+$/.test(text) || text.toLowerCase() === "null") return null;
  if (!/^-?\d+(\.\d+)?$/.test(text)) return undefined;
  return Number(text);
}

function decide() {
  if (state.index < 0) return;
  const item = state.items[state.index];
  const raw = $("value").value.trim();
  let body = { confirm: true, version: item.version };
  if (raw !== "" && takesText(item)) {
    body = { text: raw, version: item.version };
  } else if (raw !== "") {
    const value = parseValue(raw);
    if (value === undefined) {
      say(`"${raw}" is not a number (type - for a blank cell)`, true);
      return;
    }
    body = { value, version: item.version };
  }
  item._state = "saving";
  state.saves = state.saves.then(() => save(item, body));
  showNextOpen(state.index + 1); // the next item was prefetched: no waiting for the save
}

async function save(item, body) {
  try {
    const outcome = await getJson(`/v1/review/items/${item.id}`, { method: "POST", body });
    item._state = "done";
    item._outcome = outcome.field_status;
    say(`${shortCode(item.code)} ${outcome.field_status} · document ${outcome.document_status}`);
    showDocumentInfo(await reviewDocument(item.document_id, { fresh: true }));
    if (outcome.opened.length) await loadQueue();
  } catch (error) {
    // 409: decided by someone else, or the lease went to another reviewer: not ours any more.
    item._state = error.status === 409 ? "lost" : "open";
    item._outcome = `not saved: ${error.message}`;
    say(`${shortCode(item.code)} not saved: ${error.message}`, true);
  }
  renderQueue();
  try {
    if (state.index >= 0 && state.items[state.index]._state === "open") {
      await refreshCurrent();
      return;
    }
    if (nextOpen(0, 1) < 0) await loadQueue(); // the next documents
    showNextOpen(Math.max(state.index, 0));
    if (state.index < 0) {
      // Nothing left: the overview keeps the last document, with its statuses now.
      await renderOverview(item, await reviewDocument(item.document_id), state.showing);
    }
  } catch (error) {
    say(error.message, true); // never reject: the next decisions are chained on this one
  }
}

async function refreshCurrent() {
  const item = state.items[state.index];
  const view = await reviewDocument(item.document_id);
  if (state.items[state.index] !== item) return;
  renderChecks(item, view);
  renderNeighbours(item, view);
  await renderOverview(item, view, state.showing);
  showDocumentInfo(view);
}

function showDocumentInfo(view) {
  $("document-info").textContent = `#${view.id} ${view.unit_name || view.filename} ${view.year || ""} · ${view.status}`;
}

// -- wiring -----------------------------------------------------------------------------------

$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  logIn($("key").value.trim());
});
$("decide").addEventListener("submit", (event) => {
  event.preventDefault();
  decide();
});
$("value").addEventListener("keydown", (event) => {
  if (event.key !== "Tab" || state.index < 0) return;
  event.preventDefault();
  const step = event.shiftKey ? -1 : 1;
  const i = nextOpen(state.index + step, step);
  if (i >= 0) show(i);
});
$("logout").addEventListener("click", logOut);
if (state.key) logIn(state.key);
