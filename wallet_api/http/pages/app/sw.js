// The wallet's service worker: keeps the pages themselves (never the API's answers, never a
// token) so that the wallet opens without a connection and shows the last balance it saw.
const CACHE = "aizu-wallet-v1";
const SHELL = [
  "/app/",
  "/app/app.js",
  "/app/manifest.webmanifest",
  "/app/icon.svg",
  "/static/base.css",
  "/static/api.js",
  "/static/emv.js",
  "/static/keys.js",
  "/static/messages.js",
  "/static/qr.js",
  "/static/qr-worker.js",
  "/static/ui.js",
  "/vendor/tokens.css",
  "/vendor/qrcode.mjs",
  "/vendor/jsQR.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)));
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

// The pages: from the network when it answers (so an update shows at once), else as kept.
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin) return;
  if (!/^\/(app|static|vendor)\//.test(url.pathname)) return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })
      .catch(() =>
        caches.match(event.request, { ignoreSearch: true }).then((found) => found || Response.error()),
      ),
  );
});
