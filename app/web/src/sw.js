// The page's Service Worker: after the first visit the page opens with no
// network at all (every asset is cached at install, under a name that
// changes with the build), and letters waiting in the outbox leave from here
// when the browser says the network is back (Background Sync), even with the
// page closed. The relay's API (/v1/) is never cached.
import * as sync from './sync.js';

const VERSION = self.JIASHU_BUILD;     // set by build.mjs
const ASSETS = self.JIASHU_ASSETS;     // every file of the page
const CACHE = `jiashu-${VERSION}`;

self.addEventListener('install', (ev) => {
  ev.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (ev) => {
  ev.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('jiashu-') && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (ev) => {
  const url = new URL(ev.request.url);
  if (ev.request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/v1/')) return;
  const key = ev.request.mode === 'navigate' ? '/' : url.pathname;
  ev.respondWith(caches.open(CACHE).then(async (c) => {
    const hit = await c.match(key);
    if (hit) return hit;
    const res = await fetch(ev.request);
    if (res.ok && ASSETS.includes(key)) c.put(key, res.clone());
    return res;
  }));
});

self.addEventListener('sync', (ev) => {
  if (ev.tag !== 'outbox') return;
  ev.waitUntil((async () => {
    const ident = await sync.identity();
    if (!ident) return;
    await sync.sendOutbox(sync.relayFor(ident), ident);
    for (const client of await self.clients.matchAll()) client.postMessage({ outbox: 'sent' });
  })());
});
