/* Counter kiosk service worker (scope /kiosk/). `KIOSK` ({cache, assets, audio, audio_prefix, scope,
   offline}) is prepended by the server. Pages: network first (4 s), then the saved copy; assets and
   the recordings of questions (/audio/<sha256>.<ext>, immutable): cache first. The active version's
   recordings are stored at install; one that fails to download does not stop the install.
   Ratings never pass through here: the page queues them in IndexedDB and posts them itself. */
"use strict";
const NAV_TIMEOUT_MS = 4000;
const MATCH = { ignoreVary: true };

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(KIOSK.cache).then((cache) => cache.addAll(KIOSK.assets).then(() =>
    Promise.all((KIOSK.audio || []).map((url) => cache.match(url, MATCH).then((hit) => hit || cache.add(url)).catch(() => null)))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const current = await caches.open(KIOSK.cache);
    for (const name of await caches.keys()) {
      if (name === KIOSK.cache || !name.startsWith("kiosk-")) continue;
      // Keep the saved kiosk pages of the older version, drop its assets.
      const old = await caches.open(name);
      for (const request of await old.keys()) {
        if (new URL(request.url).pathname.startsWith(KIOSK.scope + "static/")) continue;
        const response = await old.match(request, MATCH);
        if (response && !(await current.match(request, MATCH))) await current.put(request, response);
      }
      await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (KIOSK.audio_prefix && url.pathname.startsWith(KIOSK.audio_prefix)) { event.respondWith(recording(request)); return; }
  if (KIOSK.site_prefix && url.pathname.startsWith(KIOSK.site_prefix + "fonts/")) { event.respondWith(asset(request)); return; }
  if (!url.pathname.startsWith(KIOSK.scope)) return;
  if (request.mode === "navigate") event.respondWith(page(request));
  else if (url.pathname.startsWith(KIOSK.scope + "static/")) event.respondWith(asset(request));
});

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then((value) => { clearTimeout(timer); resolve(value); }, (error) => { clearTimeout(timer); reject(error); });
  });
}

async function page(request) {
  const cache = await caches.open(KIOSK.cache);
  try {
    const response = await withTimeout(fetch(request), NAV_TIMEOUT_MS);
    const html = (response.headers.get("Content-Type") || "").startsWith("text/html");
    if (response.ok && html) await cache.put(request, response.clone());
    else if (response.status === 403 || response.status === 404) await cache.delete(request, MATCH);
    return response;
  } catch (error) {
    const saved = (await cache.match(request, MATCH)) || (await caches.match(request, { ignoreVary: true, ignoreSearch: true }));
    if (saved) return saved;
    const text = KIOSK.offline;
    return new Response(
      `<!doctype html><html lang="${text.lang}"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
      `<title>${text.title}</title><main><h1>${text.title}</h1><p>${text.message}</p></main></html>`,
      { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } },
    );
  }
}

async function asset(request) {
  const cache = await caches.open(KIOSK.cache);
  const saved = await cache.match(request, MATCH);
  if (saved) return saved;
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const older = await caches.match(request, { ignoreVary: true, ignoreSearch: true });
    if (older) return older;
    throw error;
  }
}

// A recording: the whole stored file (a media element's Range request gets a 206 cut from it).
async function recording(request) {
  const cache = await caches.open(KIOSK.cache);
  const url = request.url;
  let saved = await cache.match(url, MATCH);
  if (!saved) {
    try {
      const response = await fetch(url, { credentials: "omit" });
      if (!response.ok) return response;
      await cache.put(url, response.clone());
      saved = response;
    } catch (error) {
      const older = await caches.match(url, MATCH);
      if (!older) throw error;
      saved = older;
    }
  }
  const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.get("Range") || "");
  if (!range) return saved;
  const body = await saved.clone().arrayBuffer();
  const start = Number(range[1]);
  const end = range[2] ? Math.min(Number(range[2]), body.byteLength - 1) : body.byteLength - 1;
  if (start >= body.byteLength || start > end) {
    return new Response(null, { status: 416, headers: { "Content-Range": `bytes */${body.byteLength}` } });
  }
  const headers = new Headers(saved.headers);
  headers.set("Content-Range", `bytes ${start}-${end}/${body.byteLength}`);
  headers.set("Content-Length", String(end - start + 1));
  return new Response(body.slice(start, end + 1), { status: 206, headers });
}
