// A misbehaving network and relay front, for the sync client's fault tests:
// forwards to the real relay, and on request answers errors instead, flips a
// byte of served audio, or slows request bodies down. Control:
//   POST /__fault {"fail":[{"status":503,"count":2,"method":"PATCH","retry_after":1}],
//                  "corrupt":1, "upload_bps":20000,
//                  "location":"http://elsewhere:1234",  (rewrites upload Locations there)
//                  "hang":[{"method":"GET","path":"/v1/inbox"}]}  (never answers those)
//   GET /__stats  what it did ("inbox": the GET /v1/inbox requests begun;
//                 "paths": requests begun per "METHOD /path", query left out).
//   node fault_proxy.js PORT_FILE TARGET_PORT [--tls KEY CERT]
'use strict';
const http = require('http');
const https = require('https');
const fs = require('fs');

const portFile = process.argv[2];
const target = Number(process.argv[3]);
let fault = { fail: [], corrupt: 0, upload_bps: 0, hang: [] };
const stats = { requests: 0, inbox: 0, failed: {}, corrupted: 0, methods: {}, hung: 0, paths: {} };

function handler(req, res) {
  if (req.url === '/__fault' && req.method === 'POST') {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => { fault = Object.assign({ fail: [], corrupt: 0, upload_bps: 0, hang: [] }, JSON.parse(body)); res.end('ok'); });
    return;
  }
  if (req.url === '/__stats') return res.end(JSON.stringify(stats));
  stats.requests++;
  if (req.method === 'GET' && /\/v1\/inbox(\?|$)/.test(req.url)) stats.inbox++;
  stats.methods[req.method] = (stats.methods[req.method] || 0) + 1;
  const what = req.method + ' ' + new URL(req.url, 'http://x').pathname;
  stats.paths[what] = (stats.paths[what] || 0) + 1;
  for (const h of fault.hang) {
    if ((!h.method || h.method === req.method) && (!h.path || req.url.includes(h.path))) {
      stats.hung++;
      req.resume();
      return; // no answer, ever: the connection stays open
    }
  }
  if (/^https?:\/\//.test(req.url)) {
    // Used as a forward proxy (http_proxy): the request names the relay.
    const u = new URL(req.url);
    req.url = u.pathname + u.search;
    stats.as_proxy = (stats.as_proxy || 0) + 1;
  }
  for (const f of fault.fail) {
    if (f.count > 0 && (!f.method || f.method === req.method) && (!f.path || req.url.includes(f.path))) {
      f.count--;
      stats.failed[f.status] = (stats.failed[f.status] || 0) + 1;
      const headers = { 'Content-Type': 'application/json' };
      if (f.retry_after !== undefined) headers['Retry-After'] = String(f.retry_after);
      req.resume();
      req.on('end', () => {
        res.writeHead(f.status, headers);
        res.end(JSON.stringify({ error: { code: 'injected', message: 'injected fault ' + f.status } }));
      });
      return;
    }
  }
  const up = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers }, (ur) => {
    const corrupt = fault.corrupt > 0 && req.method === 'GET' && req.url.startsWith('/v1/messages/') && (ur.statusCode === 200 || ur.statusCode === 206);
    if (fault.location && ur.headers.location && req.method === 'POST') {
      ur.headers.location = fault.location + new URL(ur.headers.location, 'http://x').pathname;
    }
    res.writeHead(ur.statusCode, ur.headers);
    if (!corrupt) return ur.pipe(res);
    fault.corrupt--;
    stats.corrupted++;
    const parts = [];
    ur.on('data', (d) => parts.push(d));
    ur.on('end', () => {
      const b = Buffer.concat(parts);
      if (b.length) b[Math.floor(b.length / 2)] ^= 0x5a;
      res.end(b);
    });
  });
  up.on('error', () => { try { req.socket.destroy(); } catch (e) {} });
  req.on('aborted', () => up.destroy());
  if (!fault.upload_bps) return req.pipe(up);
  // Slow request bodies: 512-byte slices spaced to the given rate.
  const bps = fault.upload_bps;
  const queue = [];
  let ended = false;
  const pump = () => {
    if (!queue.length) {
      if (ended) up.end();
      else req.resume();
      return;
    }
    const slice = queue.shift();
    if (up.destroyed) return;
    up.write(slice);
    setTimeout(pump, Math.ceil((slice.length * 1000) / bps));
  };
  req.on('data', (d) => {
    req.pause();
    for (let i = 0; i < d.length; i += 512) queue.push(d.subarray(i, i + 512));
    pump();
  });
  req.on('end', () => { ended = true; if (!queue.length) up.end(); });
}

let server;
if (process.argv[4] === '--tls') {
  server = https.createServer({ key: fs.readFileSync(process.argv[5]), cert: fs.readFileSync(process.argv[6]) }, handler);
} else {
  server = http.createServer(handler);
}
server.listen(0, '127.0.0.1', () => fs.writeFileSync(portFile, String(server.address().port)));
