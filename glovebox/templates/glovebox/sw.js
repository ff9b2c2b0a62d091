/* The bench's service worker: bench pages and static files load from the cache when the
   network is down (entries then wait in the page's outbox). Pages: network first, so an
   online tablet always sees fresh counts; static files: cache first. */
const PAGES = "bench-pages";
const STATIC = "bench-static";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(
      caches.match(request).then((hit) => hit || fetch(request).then((response) => {
        const copy = response.clone();
        if (response.ok) caches.open(STATIC).then((c) => c.put(request, copy));
        return response;
      }))
    );
  } else if (url.pathname.startsWith("{{ home }}") && request.mode === "navigate") {
    event.respondWith(
      fetch(request).then((response) => {
        const copy = response.clone();
        if (response.ok && !response.redirected) caches.open(PAGES).then((c) => c.put(request, copy));
        return response;
      }).catch(() => caches.match(request, { ignoreSearch: false }).then((hit) => hit || caches.match("{{ home }}")))
    );
  }
});
