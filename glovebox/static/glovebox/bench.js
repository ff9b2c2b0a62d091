/* The bench's outbox: every entry is stored on the tablet (IndexedDB) before it is sent, with
   an idempotency key made here, and sent again until the server has it. A reload, a closed
   browser or a dropped Wi-Fi loses nothing; the server stores each key once. */
(() => {
  "use strict";
  const DB_NAME = "lina-bench";
  const STORE = "outbox";
  const META = "meta";  // who is switched in, kept beside the entries
  const PAGES = "bench-pages";  // the service worker's cache of bench pages
  const RETRY_MS = 5000;
  const CLOCK_TOLERANCE_S = 120;

  // ---- IndexedDB ---------------------------------------------------------------------------
  function openDb() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 2);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE, { keyPath: "key" });
        if (!db.objectStoreNames.contains(META)) db.createObjectStore(META);
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  async function withStore(mode, action, store = STORE) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(store, mode);
      const request = action(tx.objectStore(store));
      tx.oncomplete = () => { db.close(); resolve(request.result); };
      tx.onerror = () => { db.close(); reject(tx.error); };
    });
  }
  const waitingEntries = async () =>
    (await withStore("readonly", (s) => s.getAll())).sort((a, b) => a.created - b.created);
  const keep = (entry) => withStore("readwrite", (s) => s.put(entry));
  const drop = (key) => withStore("readwrite", (s) => s.delete(key));

  // ---- who is at the tablet ----------------------------------------------------------------
  // A page names the user the server rendered it for, and when (server time). Offline, the
  // service worker may answer with a copy rendered for whoever was switched in back then, so
  // the tablet keeps the newest name it has seen (with the outbox) and a page older than that
  // shows, and files its entries under, the operator actually switched in.
  const rendered = () => ({
    user: document.body.dataset.user,
    renderedMs: Number(document.body.dataset.renderedMs) || 0,
  });
  let operator = null;
  const me = () => operator;
  async function whoIsIn() {
    const page = rendered();
    let known = null;
    try { known = await withStore("readonly", (s) => s.get("operator"), META); } catch (err) { /* none kept */ }
    if (known && known.renderedMs >= page.renderedMs) return known.user;
    await withStore("readwrite", (s) => s.put(page, "operator"), META).catch(() => {});
    if (known && known.user !== page.user) renewPages();
    return page.user;
  }
  function showOperator(user) {
    operator = user;
    document.body.dataset.operator = user;
    const name = document.getElementById("who-name");
    if (name) name.textContent = user || "nobody signed in";
  }
  // After a switch, every page the service worker keeps is fetched again as the new operator,
  // so a copy rendered for the previous one is never served; a page that cannot be fetched
  // now keeps its old copy (the name on it is corrected as above).
  let renewing = Promise.resolve();
  function renewPages() {
    if (!window.caches) return renewing;
    renewing = (async () => {
      const cache = await caches.open(PAGES);
      for (const request of await cache.keys()) {
        let response;
        try {
          response = await fetch(request.url, { credentials: "same-origin", headers: { "X-Bench-Refresh": "1" } });
        } catch (err) { continue; }
        if (response.ok && !response.redirected) await cache.put(request.url, response);
        else await cache.delete(request);
      }
    })().catch(() => {});
    return renewing;
  }
  // Signing out leaves nobody in: a copy of a page rendered before is no one's.
  async function signedOut(event) {
    event.preventDefault();
    const form = event.target;
    const page = rendered();
    await withStore("readwrite", (s) => s.put({ user: "", renderedMs: page.renderedMs + 1 }, "operator"), META)
      .catch(() => {});
    form.submit();
  }

  // crypto.randomUUID needs a secure context; getRandomValues works everywhere.
  function newKey() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  function csrfToken() {
    const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
    return cookie ? cookie.slice("csrftoken=".length) : document.querySelector("meta[name=csrf-token]").content;
  }

  // ---- status line -------------------------------------------------------------------------
  function setOnline(online) {
    const net = document.getElementById("net");
    net.textContent = online ? "online" : "offline";
    net.classList.toggle("offline", !online);
  }
  // An entry is sent only in the session of the operator who made it, so it records who did it.
  let asked = 0;
  async function showWaiting() {
    await ready;
    const ask = ++asked;
    const entries = await waitingEntries();
    // Calls overlap (a tap, a send); IndexedDB answers them in order, and only the latest
    // is shown, so the count never steps back to an older state.
    if (ask !== asked) return entries;
    const waiting = document.getElementById("waiting");
    const others = [...new Set(entries.filter((e) => e.user !== me()).map((e) => e.user))];
    waiting.textContent = `${entries.length} waiting${others.length ? ` (for ${others.join(", ")})` : ""}`;
    waiting.classList.toggle("some", entries.length > 0);
    document.dispatchEvent(new CustomEvent("bench:waiting", { detail: entries }));
    return entries;
  }
  function problem(text) {
    const box = document.getElementById("sync-problem");
    box.textContent = text || "";
    box.hidden = !text;
  }
  function checkClock(serverDate) {
    const skew = serverDate ? (Date.parse(serverDate) - Date.now()) / 1000 : 0;
    const box = document.getElementById("clock-warning");
    if (Number.isNaN(skew) || Math.abs(skew) < CLOCK_TOLERANCE_S) { box.hidden = true; return; }
    box.textContent = `This tablet's clock is ${Math.round(Math.abs(skew) / 60)} min ${skew > 0 ? "behind" : "ahead of"} the server: entries are flagged until it is set right.`;
    box.hidden = false;
  }

  // ---- sending -----------------------------------------------------------------------------
  let sending = false;
  async function flush() {
    if (sending) return;
    sending = true;
    await ready;
    try {
      for (const entry of (await waitingEntries()).filter((e) => e.user === me())) {
        let response;
        try {
          response = await fetch(entry.url, {
            method: "POST",
            credentials: "same-origin",
            redirect: "manual",
            headers: {
              "Content-Type": "application/json",
              "Idempotency-Key": entry.key,
              "X-CSRFToken": csrfToken(),
              "X-Device-Time": String(Date.now()),
              "X-Bench-User": entry.user,
            },
            body: entry.body,
          });
        } catch (err) {
          setOnline(false);
          break;  // the network is down: everything stays in the outbox
        }
        setOnline(true);
        checkClock(response.headers.get("Date"));
        const json = (response.headers.get("Content-Type") || "").includes("json");
        if (response.type === "opaqueredirect" || !json) {
          problem("Entries wait: sign in again on this tablet to send them.");
          break;
        }
        const data = await response.json();
        if (response.status === 409 || response.status >= 500) {  // try again later
          problem(((data.errors || {}).__all__ || [])[0] || "");
          break;
        }
        problem("");
        await drop(entry.key);
        document.dispatchEvent(new CustomEvent("bench:sent", { detail: { entry, status: response.status, data } }));
      }
    } finally {
      sending = false;
      await showWaiting();
    }
  }

  // ---- forms -------------------------------------------------------------------------------
  function number(text) {
    const value = Number(String(text).trim().replace(",", "."));
    return String(text).trim() === "" ? NaN : value;
  }
  // A message goes next to its field: in the field's own form (several forms may share field
  // names, as the rows of the weighing page do), else the page's element with that id.
  function say(form, name, kind, text) {
    const box = form.querySelector(`[data-msg="${name}-${kind}"]`) || document.getElementById(`${name}-${kind}`);
    if (!box) return;
    box.textContent = text || "";
    box.hidden = !text;
    const input = form.elements[name];
    if (input && kind === "error") input.setAttribute("aria-invalid", text ? "true" : "false");
  }
  function labelOf(input) {
    const label = input.id && document.querySelector(`label[for="${input.id}"]`);
    const text = label ? label.textContent.trim() : input.name;
    // Inside a sentence: "Thickness after the pass" → "thickness …", but "O2" stays.
    return /^.[a-z]/.test(text) ? text[0].toLowerCase() + text.slice(1) : text;
  }
  // Refuses what cannot be stored, flags (without refusing) what is outside the protocol.
  function check(form, input) {
    if (input.matches("input[data-code]")) {
      const missing = input.hasAttribute("data-required") && input.value.trim() === "";
      say(form, input.name, "error", missing ? "Scan or type the code." : "");
      return !missing;
    }
    if (!input.matches("input[inputmode=decimal]")) return true;
    const value = number(input.value);
    const name = labelOf(input);
    let error = "";
    if (input.value.trim() === "") error = input.hasAttribute("data-optional") ? "" : `Enter the ${name}.`;
    else if (Number.isNaN(value)) error = `The ${name} must be a number, like 98.5.`;
    else if (input.hasAttribute("data-positive") && value <= 0) error = `The ${name} must be more than 0.`;
    else if (input.hasAttribute("data-nonnegative") && value < 0) error = `The ${name} must be zero or more.`;
    say(form, input.name, "error", error);
    let flag = "";
    if (Number.isNaN(value)) { say(form, input.name, "flag", ""); return !error; }
    if (!error && input.dataset.hi !== undefined && value > number(input.dataset.hi))
      flag = `${value} is above ${input.dataset.hiLabel || input.dataset.hi}: check it before saving.`;
    if (!error && input.dataset.lo !== undefined && value < number(input.dataset.lo))
      flag = `${value} is below ${input.dataset.loLabel || input.dataset.lo}: check it before saving.`;
    say(form, input.name, "flag", flag);
    return !error;
  }

  async function queue(form, extra) {
    await ready;
    if (!me()) {
      problem("Nobody is signed in on this tablet: tap Switch user first. Nothing was kept.");
      delete form.dataset.queued;
      return null;
    }
    const body = { device_time: new Date().toISOString(), ...(extra || {}) };
    for (const [name, value] of new FormData(form)) {
      const input = form.elements[name];
      const decimal = input && input.matches && input.matches("input[inputmode=decimal]");
      const code = input && input.matches && input.matches("input[data-code]");
      body[name] = decimal && value.trim() !== "" ? String(number(value)) : code ? value.trim() : value;
    }
    const entry = {
      key: newKey(),
      url: form.action,
      kind: form.dataset.kind,
      user: me(),
      record: form.dataset.record,
      created: Date.now(),
      body: JSON.stringify(body),
      fields: body,
    };
    await keep(entry);
    document.dispatchEvent(new CustomEvent("bench:queued", { detail: entry }));
    await showWaiting();
    flush();
    return entry;
  }

  function wireForm(form) {
    form.addEventListener("input", (event) => check(form, event.target));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const inputs = [...form.querySelectorAll("input[inputmode=decimal], input[data-code]")];
      const ok = inputs.map((input) => check(form, input)).every(Boolean);
      if (!ok) { inputs.find((i) => i.getAttribute("aria-invalid") === "true").focus(); return; }
      if (form.dataset.outbox === undefined) return;
      // A form marked data-once makes one entry at a time: a second tap while its entry
      // waits makes no second entry (the page clears data-queued when the entry is refused).
      if (form.dataset.once !== undefined) {
        if (form.dataset.queued) return;
        form.dataset.queued = "1";
      }
      queue(form);
    });
  }

  function showErrors(errors) {
    let first = null;
    for (const [name, messages] of Object.entries(errors || {})) {
      const box = document.getElementById(`${name}-error`) || document.getElementById("__all__-error");
      if (!box) continue;
      box.textContent = `Not saved: ${messages.join(" ")}`;
      box.hidden = false;
      first = first || box;
    }
    // Where the operator can read it, not under the sticky header or below the fold.
    if (first) first.scrollIntoView({ block: "center" });
  }

  let ready = Promise.resolve();
  window.bench = {
    queue, flush, waitingEntries, showWaiting, showErrors, check, number, say, me,
    ready: () => ready, renewed: () => renewing,
  };

  document.addEventListener("DOMContentLoaded", () => {
    ready = whoIsIn().then(showOperator, () => showOperator(rendered().user));
    document.querySelectorAll("form[data-outbox], form[data-checked]").forEach(wireForm);
    document.querySelectorAll("form[data-sign-out]").forEach((f) => f.addEventListener("submit", signedOut));
    document.addEventListener("bench:sent", (event) => {
      const { entry, status, data } = event.detail;
      // An entry that changes a row carries the version its page showed; the server answers
      // with the version now (after the change, or with a conflict), and the page keeps it.
      if (typeof data.version === "number") {
        document.querySelectorAll(`form[data-kind="${entry.kind}"][data-record="${entry.record}"]`).forEach((form) => {
          if (form.elements.version) form.elements.version.value = data.version;
        });
      }
      if (status >= 400) { showErrors(data.errors); return; }
      const result = document.getElementById(`${entry.kind}-result`);
      if (result && data.entry) {
        result.textContent = `Saved ${data.entry.summary}${data.warning ? ` · ${data.warning}` : ""}`;
        result.hidden = false;
      }
    });
    window.addEventListener("online", flush);
    window.addEventListener("offline", () => setOnline(false));
    setOnline(navigator.onLine);
    ready.then(showWaiting).then(flush);
    setInterval(flush, RETRY_MS);
    if ("serviceWorker" in navigator) {
      // The page itself goes into the cache the worker answers from when the network is down.
      navigator.serviceWorker.register(document.body.dataset.sw).catch(() => {});
      if (navigator.onLine && window.caches) {
        const assets = [...document.querySelectorAll("script[src], link[rel=stylesheet]")]
          .map((el) => el.src || el.href);
        caches.open("bench-static").then((c) => c.addAll(assets)).catch(() => {});
        const refresh = new Request(location.href, { headers: { "X-Bench-Refresh": "1" } });
        caches.open(PAGES).then((c) => c.add(refresh)).catch(() => {});
      }
    }
  });
})();
