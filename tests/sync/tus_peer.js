// A tus server nobody on this project wrote (@tus/server + @tus/file-store),
// plus a plain file server with Range and a SHA-256 ETag, for the client's
// tests. Faults on request: cut every connection after some bytes, corrupt
// the first bodies served.
//   node tus_peer.js PORT DIR [--cut-bytes N] [--corrupt N] [--delay-ms N]
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { Server } = require('@tus/server');
const { FileStore } = require('@tus/file-store');

const port = Number(process.argv[2]);
const dir = process.argv[3];
let cutBytes = 0;
let corrupt = 0;
let delayMs = 0;
for (let i = 4; i < process.argv.length; i++) {
  if (process.argv[i] === '--cut-bytes') cutBytes = Number(process.argv[++i]);
  else if (process.argv[i] === '--corrupt') corrupt = Number(process.argv[++i]);
  else if (process.argv[i] === '--delay-ms') delayMs = Number(process.argv[++i]);
}
fs.mkdirSync(path.join(dir, 'uploads'), { recursive: true });
fs.mkdirSync(path.join(dir, 'blobs'), { recursive: true });

const tus = new Server({ path: '/files', datastore: new FileStore({ directory: path.join(dir, 'uploads') }) });
let cuts = 0;

function serveBlob(req, res) {
  const name = path.basename(req.url);
  let data;
  try { data = fs.readFileSync(path.join(dir, 'blobs', name)); } catch (e) {
    res.writeHead(404, { 'Content-Type': 'application/json' });
    return res.end('{"error":{"code":"not_found","message":"no such blob"}}');
  }
  const etag = crypto.createHash('sha256').update(data).digest('hex');
  let start = 0;
  const m = /^bytes=(\d+)-$/.exec(req.headers.range || '');
  if (m) start = Number(m[1]);
  if (start > data.length) { res.writeHead(416); return res.end(); }
  let body = Buffer.from(data.subarray(start));
  if (corrupt > 0 && body.length > 0) {
    corrupt--;
    body[Math.floor(body.length / 2)] ^= 0x55;
    fs.appendFileSync(path.join(dir, 'corrupted.log'), name + '\n');
  }
  const headers = { 'ETag': '"' + etag + '"', 'Content-Length': body.length, 'Accept-Ranges': 'bytes' };
  if (m) headers['Content-Range'] = `bytes ${start}-${data.length - 1}/${data.length}`;
  res.writeHead(m ? 206 : 200, headers);
  if (cutBytes > 0 && body.length > cutBytes) {
    // Send part of the body, then drop the connection mid-transfer.
    res.write(body.subarray(0, Math.floor(cutBytes / 2)), () => { cuts++; req.socket.destroy(); });
    return;
  }
  res.end(body);
}

const server = http.createServer((req, res) => {
  if (req.url.startsWith('/files')) {
    // A slow server: the request waits before tus reads it.
    if (delayMs && req.method === 'PATCH') return setTimeout(() => { if (!req.socket.destroyed) tus.handle(req, res); }, delayMs);
    return tus.handle(req, res);
  }
  if (req.url.startsWith('/blob/')) return serveBlob(req, res);
  if (req.url === '/cuts') return res.end(String(cuts));
  res.writeHead(404); res.end();
});
server.on('connection', (sock) => {
  if (!cutBytes) return;
  let seen = 0;
  sock.on('data', (d) => {
    seen += d.length;
    if (seen > cutBytes) { cuts++; sock.destroy(); }
  });
});
server.listen(port, '127.0.0.1', () => {
  fs.writeFileSync(path.join(dir, 'port'), String(server.address().port));
});
