/* Counter kiosk: the rating flow, the inactivity warning, and the offline queue.
 *
 * Ratings go into IndexedDB ("sonla-kiosk": stores "queue" and "rejected") and are posted to
 * the collection API with the device key whenever the network allows: after each rating, on
 * "online", when the page becomes visible, and every data-sync-ms. The queue is sent oldest
 * first, BATCH_SIZE ratings per request to <api>/batch, which answers one result per rating. A
 * rating leaves the queue only when its result is 201 or 200; a 4xx that can never succeed
 * moves it to "rejected"; 403 for the whole request (key revoked) stops sending; anything else
 * is retried with capped exponential back-off with jitter. If the server refuses the batch
 * whole (an older server without the endpoint), its ratings are sent one by one as before. Timings are read from data-* attributes of <body> each
 * time a timer starts. Without IndexedDB the form posts to the server as it does without JS.
 */
(function () {
  "use strict";
  var body = document.body;
  var data = body.dataset;
  function ms(name, fallback) { var value = Number(data[name]); return value >= 0 && data[name] !== "" ? value : fallback; }

  if (data.mode === "thanks") {
    // The server-side thank-you page: back to the kiosk for the next person.
    setTimeout(function () { location.replace(data.backUrl); }, ms("thanksMs", 5000));
    return;
  }
  if (data.mode !== "kiosk" || !window.Promise || !window.fetch) return;

  var BASE_BACKOFF_MS = 2000;
  var MAX_BACKOFF_MS = 5 * 60 * 1000;
  var PERMANENT = [400, 409, 410, 413, 415, 422];
  // Ratings per request to the batch endpoint (at most 500; every rating counts against the device's limit).
  var BATCH_SIZE = 50;
  var $ = function (id) { return document.getElementById(id); };
  var TEXT = JSON.parse($("kiosk-text").textContent);
  var form = $("rate-form");
  var select = $("kiosk-service");
  var statusLine = $("kiosk-status");
  var dialog = $("kiosk-idle");
  var stages = { rate: $("stage-rate"), reasons: $("stage-reasons"), thanks: $("stage-thanks") };

  var stage = "rate", overall = null, chips = null, startedAt = null, lastFocus = null;
  var idleTimer = 0, graceTimer = 0, thanksTimer = 0, retryTimer = 0;
  var db = null, dbFailed = false, flushing = false, again = false, failures = 0, retryAt = 0;
  var inactive = false, offlineReady = false;

  // --- service remembered on this tablet ------------------------------------------------
  var serviceKey = "kiosk-service:" + data.unit;
  function remember(value) { try { if (value) localStorage.setItem(serviceKey, value); } catch (e) { /* private mode */ } }
  if (select) {
    var saved = null;
    try { saved = localStorage.getItem(serviceKey); } catch (e) { /* private mode */ }
    var known = saved && Array.prototype.some.call(select.options, function (o) { return o.value === saved; });
    if (!data.serviceFromUrl && known) select.value = saved; else remember(select.value);
    select.addEventListener("change", function () { remember(select.value); });
  }
  function currentService() { return form.elements.namedItem("service").value; }

  // --- small helpers ----------------------------------------------------------------------
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function pad(n, width) { return String(Math.abs(n)).padStart(width || 2, "0"); }
  function isoWithOffset(d) {
    var offset = -d.getTimezoneOffset();
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" +
      pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + "." + pad(d.getMilliseconds(), 3) +
      (offset >= 0 ? "+" : "-") + pad(Math.floor(Math.abs(offset) / 60)) + ":" + pad(Math.abs(offset) % 60);
  }
  function freshClientId() { form.elements.namedItem("client_id").value = uuid(); }
  freshClientId();

  // --- IndexedDB ----------------------------------------------------------------------------
  function openDb() {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
      var request = indexedDB.open("sonla-kiosk", 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore("queue", { keyPath: "client_id" });
        request.result.createObjectStore("rejected", { keyPath: "client_id" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }
  function run(stores, mode, work) {
    return new Promise(function (resolve, reject) {
      var t = mode === "readwrite" ? db.transaction(stores, mode, { durability: "strict" }) : db.transaction(stores, mode);
      var result;
      var request = work(t);
      if (request) request.onsuccess = function () { result = request.result; };
      t.oncomplete = function () { resolve(result); };
      t.onerror = t.onabort = function () { reject(t.error); };
    });
  }
  function count(store) { return run([store], "readonly", function (t) { return t.objectStore(store).count(); }); }

  var dbReady = openDb().then(function (opened) {
    db = opened;
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(function () {});
    refreshStatus();
    flush();
  }, function () { dbFailed = true; });

  // --- status line for staff (text, not colour) ----------------------------------------------
  function refreshStatus() {
    if (!db) return Promise.resolve();
    return Promise.all([count("queue"), count("rejected")]).then(function (counts) {
      var reachable = navigator.onLine !== false && failures === 0;
      var parts = [reachable ? TEXT.online : TEXT.offline, TEXT.queued.replace("{n}", counts[0])];
      if (counts[1]) parts.push(TEXT.rejected.replace("{n}", counts[1]));
      if (offlineReady) parts.push(TEXT.offline_ready);
      statusLine.textContent = parts.join(" · ");
      statusLine.hidden = false;
      data.queued = counts[0];
      data.rejected = counts[1];
    }).catch(function () {});
  }

  // --- sending ---------------------------------------------------------------------------------
  function backOff() {
    failures += 1;
    var ceiling = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * Math.pow(2, failures - 1));
    var wait = ceiling / 2 + Math.random() * ceiling / 2;
    retryAt = Date.now() + wait;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(flush, wait + 10);
  }
  function headers(key) {
    // X-Retry-Attempt: failed sends since the last success, counted by the server's metrics.
    return { "Content-Type": "application/json", "X-Device-Key": key, "Accept-Language": document.documentElement.lang,
      "X-Retry-Attempt": String(failures) };
  }
  function post(item) {
    return fetch(item.url, { method: "POST", credentials: "omit", cache: "no-store", headers: headers(item.key),
      body: JSON.stringify(item.body) });
  }
  function postBatch(items) {
    return fetch(items[0].url + "/batch", { method: "POST", credentials: "omit", cache: "no-store",
      headers: headers(items[0].key), body: JSON.stringify({ responses: items.map(function (item) { return item.body; }) }) });
  }
  function remove(item) {
    return run(["queue"], "readwrite", function (t) { return t.objectStore("queue").delete(item.client_id); });
  }
  function setAside(item, status, error) {
    error = error || {};
    return run(["queue", "rejected"], "readwrite", function (t) {
      t.objectStore("queue").delete(item.client_id);
      item.rejected = { status: status, field: error.field || null, code: error.code || null, at: Date.now() };
      t.objectStore("rejected").put(item);
    });
  }
  // One item through the single endpoint: "next" (go on), "stop" (key revoked) or "retry" (back off).
  function sendOne(item) {
    return post(item).then(function (response) {
      var status = response.status;
      if (status === 200 || status === 201) {
        failures = 0;
        return remove(item).then(function () { refreshStatus(); return "next"; });
      }
      if (status === 403 && item.key === data.deviceKey) { setInactive(); return "stop"; }
      if (status === 403 || PERMANENT.indexOf(status) >= 0) {
        return response.json().catch(function () { return null; }).then(function (detail) {
          return setAside(item, status, detail && detail.error);
        }).then(function () { return "next"; });
      }
      backOff();
      return "retry";
    }, function () { backOff(); return "retry"; });
  }
  function sendSingly(items) {
    var next = function (index) {
      if (index >= items.length) return Promise.resolve("next");
      return sendOne(items[index]).then(function (outcome) { return outcome === "next" ? next(index + 1) : outcome; });
    };
    return next(0);
  }
  // Up to BATCH_SIZE items with the same key through the batch endpoint; each result settles its own item:
  // 200/201 leave the queue, a permanent refusal is set aside, anything else stays for the next flush.
  function sendBatch(items) {
    return postBatch(items).then(function (response) {
      var status = response.status;
      if (status === 403 && items[0].key === data.deviceKey) { setInactive(); return "stop"; }
      if (status === 403) return sendSingly(items); // an old key: each item is set aside as before
      if (status !== 200) {
        if (status === 429 || status >= 500) { backOff(); return "retry"; }
        // A server without the batch endpoint, or one that refuses this batch whole: one at a time.
        return sendSingly(items);
      }
      return response.json().then(function (answer) {
        var results = answer && answer.results;
        if (!results || results.length !== items.length) throw new Error("bad batch answer");
        failures = 0;
        var kept = 0;
        return run(["queue", "rejected"], "readwrite", function (t) {
          results.forEach(function (result, index) {
            var item = items[result.index === undefined ? index : result.index];
            if (result.status === 200 || result.status === 201) {
              t.objectStore("queue").delete(item.client_id);
            } else if (result.status === 403 || PERMANENT.indexOf(result.status) >= 0) {
              var error = result.error || {};
              t.objectStore("queue").delete(item.client_id);
              item.rejected = { status: result.status, field: error.field || null, code: error.code || null, at: Date.now() };
              t.objectStore("rejected").put(item);
            } else {
              kept += 1;
            }
          });
        }).then(function () {
          refreshStatus();
          if (kept) { backOff(); return "retry"; }
          return "next";
        });
      });
    }, function () { backOff(); return "retry"; }).catch(function () { backOff(); return "retry"; });
  }
  function flush() {
    if (!db || inactive) return Promise.resolve();
    if (flushing) { again = true; return Promise.resolve(); }
    if (navigator.onLine === false || Date.now() < retryAt) return refreshStatus();
    flushing = true;
    return run(["queue"], "readonly", function (t) { return t.objectStore("queue").getAll(); }).then(function (items) {
      items.sort(function (a, b) { return a.created - b.created; });
      var next = function () {
        if (!items.length) { failures = 0; retryAt = 0; return null; }
        // The oldest items first, BATCH_SIZE at a time, each batch with one key and one address.
        var batch = items.filter(function (item) { return item.key === items[0].key && item.url === items[0].url; })
          .slice(0, BATCH_SIZE);
        items = items.filter(function (item) { return batch.indexOf(item) < 0; });
        return sendBatch(batch).then(function (outcome) { return outcome === "next" ? next() : null; });
      };
      return next();
    }).catch(function () { backOff(); }).then(function () {
      flushing = false;
      refreshStatus();
      if (again) { again = false; flush(); }
    });
  }
  function tick() { flush(); setTimeout(tick, ms("syncMs", 30000) || 30000); }
  setTimeout(tick, ms("syncMs", 30000) || 30000);
  window.addEventListener("online", function () { failures = 0; retryAt = 0; flush(); });
  window.addEventListener("offline", refreshStatus);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) flush(); });

  function setInactive() {
    inactive = true;
    clearTimers();
    if (dialog.open) dialog.close();
    Object.keys(stages).forEach(function (key) { stages[key].hidden = true; });
    $("kiosk-inactive").hidden = false;
    data.inactive = "true";
  }

  function enqueue(item) {
    return dbReady.then(function () {
      if (dbFailed) throw new Error("no queue");
      return run(["queue"], "readwrite", function (t) { return t.objectStore("queue").add(item); });
    }).then(function () { refreshStatus(); flush(); }, function () {
      // No working queue on this tablet: let the server store it, as without JavaScript.
      var field = document.createElement("input");
      field.type = "hidden"; field.name = "overall"; field.value = item.body.answers.overall;
      form.elements.namedItem("read_aloud").value = item.body.read_aloud ? "1" : "";
      form.appendChild(field);
      form.submit();
    });
  }

  // --- the rating flow -----------------------------------------------------------------------
  function clearTimers() { clearTimeout(idleTimer); clearTimeout(graceTimer); clearTimeout(thanksTimer); }
  function show(name, focusTarget) {
    stage = name;
    document.dispatchEvent(new Event("listen:stop"));
    Object.keys(stages).forEach(function (key) { stages[key].hidden = key !== name; });
    data.stage = name;
    if (focusTarget) focusTarget.focus();
  }
  // Each face names the chips that follow it (data-chips): what went well after a satisfied face.
  function reasonsHeading() { return $("q-" + (chips || "went_badly")); }

  form.addEventListener("submit", function (event) {
    if (dbFailed || inactive) return; // the server stores it
    event.preventDefault();
    var button = event.submitter;
    if (!button || !button.value) return;
    overall = Number(button.value);
    chips = button.getAttribute("data-chips");
    startedAt = startedAt || Date.now();
    document.querySelectorAll("fieldset[data-chips]").forEach(function (set) {
      set.hidden = set.getAttribute("data-chips") !== chips;
      set.querySelectorAll("input").forEach(function (box) { box.checked = false; });
    });
    show("reasons", reasonsHeading());
    armIdle();
  });

  function finish(withReasons, thank) {
    if (overall === null) return;
    var now = new Date();
    var reasons = withReasons
      ? Array.prototype.map.call(document.querySelectorAll("fieldset[data-chips]:not([hidden]) input:checked"), function (box) { return box.value; })
      : [];
    var id = uuid();
    var item = {
      client_id: id, key: data.deviceKey, url: data.api, created: now.getTime(),
      body: {
        client_id: id, instrument: data.instrument, instrument_version: Number(data.instrumentVersion), unit: data.unit,
        service: currentService(), channel: "kiosk", answers: { overall: overall }, reasons: reasons, answered_at: isoWithOffset(now),
        duration_seconds: Math.min(86400, Math.max(0, Math.round((now.getTime() - (startedAt || now.getTime())) / 1000))),
        language: data.language || document.documentElement.lang,
      },
    };
    // A listen button was used for this rating (listen.js marks the page).
    if (data.readAloud === "true") item.body.read_aloud = true;
    overall = null;
    clearTimers();
    enqueue(item);
    if (thank) {
      show("thanks", $("q-thanks"));
      thanksTimer = setTimeout(reset, ms("thanksMs", 5000));
    } else {
      reset();
    }
  }
  function reset() {
    clearTimers();
    if (dialog.open) dialog.close();
    overall = null;
    chips = null;
    startedAt = null;
    delete data.readAloud;
    form.elements.namedItem("read_aloud").value = "";
    freshClientId();
    if (!inactive) show("rate", $("q-overall"));
  }
  // Arrow keys move between the faces (Tab reaches them too; Enter or Space chooses).
  var faces = Array.prototype.slice.call(form.querySelectorAll("button[name=overall]"));
  var STEPS = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1, Home: -faces.length, End: faces.length };
  faces.forEach(function (face, index) {
    face.addEventListener("keydown", function (event) {
      var step = STEPS[event.key];
      if (!step || event.altKey || event.ctrlKey || event.metaKey) return;
      event.preventDefault();
      faces[Math.max(0, Math.min(faces.length - 1, index + step))].focus();
    });
  });
  $("kiosk-send").addEventListener("click", function () { finish(true, true); });
  $("kiosk-skip").addEventListener("click", function () { finish(false, true); });
  $("kiosk-next").addEventListener("click", reset);

  // --- inactivity (WCAG 2.2.1): warn, allow more time, then start again ------------------------
  function armIdle() {
    clearTimeout(idleTimer);
    if (stage === "reasons" && !dialog.open) idleTimer = setTimeout(warn, ms("idleMs", 30000));
  }
  function warn() {
    if (stage !== "reasons") return;
    $("idle-text").textContent = TEXT.idle.replace("{n}", Math.round(ms("graceMs", 20000) / 1000));
    lastFocus = document.activeElement;
    if (dialog.showModal) dialog.showModal(); else dialog.setAttribute("open", "");
    $("kiosk-continue").focus();
    graceTimer = setTimeout(function () { finish(false, false); }, ms("graceMs", 20000));
  }
  function keepGoing() {
    clearTimeout(graceTimer);
    if (dialog.open) dialog.close();
    armIdle();
    var target = lastFocus && lastFocus !== body && document.contains(lastFocus) && !lastFocus.closest("[hidden]") ? lastFocus : reasonsHeading();
    target.focus();
  }
  $("kiosk-continue").addEventListener("click", keepGoing);
  dialog.addEventListener("cancel", function (event) { event.preventDefault(); keepGoing(); });
  ["pointerdown", "keydown", "input"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      if (stage === "rate" && !startedAt && stages.rate.contains(event.target)) startedAt = Date.now();
      else if (stage === "reasons" && !dialog.open) armIdle();
    }, true);
  });

  // --- offline: service worker and a saved copy of this page --------------------------------
  if ("serviceWorker" in navigator && window.caches) {
    navigator.serviceWorker.register(data.sw, { scope: data.scope }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function () {
      return caches.open(data.cache).then(function (cache) {
        return cache.add(new Request(location.href, { credentials: "same-origin" })).catch(function () {
          return cache.match(location.href, { ignoreVary: true }).then(function (hit) { if (!hit) throw new Error("not saved"); });
        });
      });
    }).then(function () {
      offlineReady = true;
      data.offlineReady = "true";
      refreshStatus();
    }).catch(function () { /* works online only */ });
  }
})();
