// The relay protocol (net/PROTOCOL.md) from the page: JSON routes, a tus
// 1.0.0 upload that resumes where the relay says, verified downloads and
// long polls. Every failure becomes a RelayError whose `kind` the page
// turns into one sentence, and whose `transient` says whether a later try
// may succeed.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from './e2e.js';

export class RelayError extends Error {
  constructor(kind, status, transient, detail) {
    super(detail || kind);
    this.kind = kind;
    this.status = status;
    this.transient = transient;
    this.retryAfter = 0;
  }
}

const KIND = { 400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 409: 'conflict',
               410: 'expired', 413: 'too_large', 429: 'rate_limited', 460: 'checksum', 507: 'full' };
const TRANSIENT = new Set([408, 409, 429, 460, 500, 502, 503, 504, 507]);

async function failure(res) {
  let code = '';
  try {
    const body = await res.json();
    if (body && body.error && typeof body.error.code === 'string') code = body.error.code;
  } catch { /* not JSON: the status says enough */ }
  const kind = res.status >= 500 && res.status !== 507 ? 'server' : (KIND[res.status] || 'refused');
  const err = new RelayError(kind, res.status, TRANSIENT.has(res.status), code);
  const ra = Number(res.headers.get('Retry-After'));
  if (Number.isFinite(ra) && ra > 0) err.retryAfter = Math.min(ra, 3600);
  return err;
}

export class Relay {
  constructor(base = '', token = null) {
    this.base = base;
    this.token = token;
  }

  headers(extra = {}) {
    const h = { ...extra };
    if (this.token) h.Authorization = `Bearer ${this.token}`;
    return h;
  }

  async request(method, path, { json, body, headers = {}, signal, timeoutMs = 30000 } = {}) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    if (signal) signal.addEventListener('abort', () => ctl.abort(), { once: true });
    let res;
    try {
      const h = this.headers(headers);
      if (json !== undefined) { h['Content-Type'] = 'application/json'; body = JSON.stringify(json); }
      res = await fetch(this.base + path, { method, headers: h, body, signal: ctl.signal, cache: 'no-store' });
    } catch (e) {
      throw new RelayError('offline', 0, true, 'network');
    } finally {
      clearTimeout(timer);
    }
    if (!res.ok) throw await failure(res);
    return res;
  }

  async json(method, path, opts) {
    const res = await this.request(method, path, opts);
    if (res.status === 204) return null;
    let body;
    try { body = await res.json(); } catch { throw new RelayError('garbage', res.status, true, 'not JSON'); }
    if (!body || typeof body !== 'object') throw new RelayError('garbage', res.status, true, 'not an object');
    return body;
  }

  // ---- pairing (docs/encryption.md; net/PROTOCOL.md "Pairing mailboxes") ----
  async claimPairing(nameplate) {
    const r = await this.json('POST', `/v1/pairings/${nameplate}/claim`);
    if (typeof r.claim !== 'string' || typeof r.msg_a !== 'string') throw new RelayError('garbage', 200, true);
    return { claim: r.claim, a: b64decode(r.msg_a) };
  }
  async answerPairing(nameplate, claim, b) {
    await this.json('POST', `/v1/pairings/${nameplate}/answer`, { json: { claim, msg: b64encode(b) } });
  }
  // The inviter's last message, or null while it has not come.
  async pairingResult(nameplate, claim) {
    const r = await this.json('POST', `/v1/pairings/${nameplate}/result`, { json: { claim } });
    if (r.msg === null || r.msg === undefined) return null;
    if (typeof r.msg !== 'string') throw new RelayError('garbage', 200, true);
    return b64decode(r.msg);
  }
  async roster() {
    const res = await this.request('GET', '/v1/roster');
    return new Uint8Array(await res.arrayBuffer());
  }
  async family() { return this.json('GET', '/v1/family'); }

  // ---- tus upload: creates or finds the upload, then sends what the relay lacks ----
  async upload({ bytes, messageId, recipients, durationMs, url, onUrl, onProgress, chunk = 65536, signal }) {
    const tus = { 'Tus-Resumable': '1.0.0' };
    let offset = 0;
    if (url) {
      try {
        const res = await this.request('HEAD', url, { headers: tus, signal });
        offset = Number(res.headers.get('Upload-Offset'));
      } catch (e) {
        if (e.kind !== 'not_found' && e.kind !== 'expired') throw e;
        url = null; // gone on the relay: start again
      }
    }
    if (!url) {
      const meta = [['message_id', messageId], ['recipients', recipients.join(',')],
                    ['duration_ms', String(Math.round(durationMs))]]
        .map(([k, v]) => `${k} ${btoa(v)}`).join(',');
      const res = await this.request('POST', '/v1/uploads', {
        headers: { ...tus, 'Upload-Length': String(bytes.length), 'Upload-Metadata': meta }, signal });
      url = res.headers.get('Location');
      if (!url || !url.startsWith('/v1/uploads/')) throw new RelayError('garbage', res.status, true, 'Location');
      offset = Number(res.headers.get('Upload-Offset') || 0);
      await onUrl(url);
    }
    while (offset < bytes.length) {
      if (!Number.isSafeInteger(offset) || offset < 0 || offset > bytes.length)
        throw new RelayError('garbage', 200, true, 'Upload-Offset');
      const piece = bytes.subarray(offset, Math.min(bytes.length, offset + chunk));
      let res;
      try {
        res = await this.request('PATCH', url, {
          headers: { ...tus, 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' },
          body: piece, signal, timeoutMs: 120000 });
      } catch (e) {
        if (e.status !== 409) throw e;
        res = await this.request('HEAD', url, { headers: tus, signal });
      }
      offset = Number(res.headers.get('Upload-Offset'));
      if (onProgress) onProgress(Math.min(offset, bytes.length), bytes.length);
    }
    return url;
  }

  async terminate(url) {
    try { await this.request('DELETE', url, { headers: { 'Tus-Resumable': '1.0.0' } }); } catch (e) {
      if (e.kind !== 'not_found') throw e;
    }
  }

  // The answer also carries the receipts on the page's own letters above
  // receiptsAfter, and the wait ends on one too: one long poll for
  // everything that can come (net/PROTOCOL.md).
  async inbox(after, receiptsAfter, waitS, signal) {
    const r = await this.json('GET', `/v1/inbox?after=${after}&wait=${waitS}&receipts_after=${receiptsAfter}`,
      { signal, timeoutMs: (waitS + 30) * 1000 });
    if (!Array.isArray(r.messages) || !Number.isSafeInteger(r.cursor) ||
        !Array.isArray(r.receipts) || !Number.isSafeInteger(r.receipts_cursor)) throw new RelayError('garbage', 200, true);
    return r;
  }

  // The whole message, its SHA-256 checked against the relay's ETag.
  async download(messageId, maxBytes) {
    const res = await this.request('GET', `/v1/messages/${encodeURIComponent(messageId)}`, { timeoutMs: 300000 });
    const len = Number(res.headers.get('Content-Length'));
    if (Number.isFinite(len) && len > maxBytes) throw new RelayError('too_large', 200, false);
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length > maxBytes) throw new RelayError('too_large', 200, false);
    const etag = (res.headers.get('ETag') || '').replace(/"/g, '');
    if (etag && etag !== bytesToHex(sha256(bytes))) throw new RelayError('checksum', 200, true);
    return bytes;
  }

  async receipt(messageId, state, proof) {
    await this.json('POST', `/v1/messages/${encodeURIComponent(messageId)}/receipts`,
                    { json: { state, proof: b64encode(proof) } });
  }
}

export function b64encode(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s);
}
export function b64decode(text) {
  let s;
  try { s = atob(text); } catch { throw new RelayError('garbage', 200, true, 'base64'); }
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
