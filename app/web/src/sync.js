// Store and forward for the page: the outbox leaves whenever the relay can
// be reached, the inbox and the receipts come in through long polls. Used by
// the page and by its Service Worker (background sync), on the same
// IndexedDB, so either may send a letter and neither sends it twice: the
// relay's creation is idempotent per message id and the upload resumes at
// the offset the relay gives.
import * as db from './db.js';
import { Relay, RelayError, b64decode as b64 } from './api.js';
import { acceptRoster, isEnvelope, openNote, parseRoster, receiptProof, receiptValid, sealNote, E2EError }
  from './e2e.js';
import { parseOggOpus } from './ogg.js';

const MAX_ENVELOPE = 600 * 8000 * 5 / 4 + 65536 + 64 * 1024;

export async function identity() { return db.get('kv', 'identity'); }

export function relayFor(ident, base = '') { return new Relay(base, ident ? ident.token : null); }

// The roster held, refreshed from the relay's copy when it carries a newer
// version signed by a member (the relay cannot forge one).
export async function refreshRoster(relay, ident) {
  let held = parseRoster(ident.rosterBytes);
  let bytes;
  try { bytes = await relay.roster(); } catch (e) { if (e.kind === 'not_found') return held; throw e; }
  const next = acceptRoster(held, bytes);
  if (next !== held) {
    await db.update('kv', 'identity', (id) => ({ ...id, rosterBytes: bytes }));
    ident.rosterBytes = bytes;
  }
  return next;
}

// Sends every letter the person chose to send. Each is sealed once and the
// envelope kept, so a resumed upload sends the same bytes.
export async function sendOutbox(relay, ident, onChange = () => {}) {
  const roster = await refreshRoster(relay, ident);
  const items = (await db.all('outbox')).filter((o) => o.state === 'queued').sort((a, b) => a.createdAt - b.createdAt);
  for (const item of items) {
    let envelope = item.envelope;
    let recipients = item.recipients;
    if (!envelope) {
      const pages = await db.pagesOf(item.id);
      const plain = concatPages(pages);
      const sealed = sealNote({ plain, messageId: item.id, roster, me: ident.deviceId, keys: ident.keys });
      envelope = sealed.envelope;
      recipients = sealed.recipients;
      await db.update('outbox', item.id, (o) => ({ ...o, envelope, recipients, bytes: plain.length }));
    }
    await relay.upload({
      bytes: envelope, messageId: item.id, recipients, durationMs: item.durationMs, url: item.uploadUrl,
      onUrl: (url) => db.update('outbox', item.id, (o) => ({ ...o, uploadUrl: url })),
      onProgress: (done, total) => onChange({ id: item.id, done, total }),
    });
    await db.update('outbox', item.id, (o) => ({ ...o, state: 'sent', sentAt: Date.now(), error: null }));
    onChange({ id: item.id, sent: true });
  }
}

export function concatPages(pages) {
  let n = 0;
  for (const p of pages) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of pages) { out.set(p, o); o += p.length; }
  return out;
}

// One look at the inbox (waiting up to waitS for news): takes the receipts
// on the page's own letters that came with it, downloads, opens and keeps
// each new letter, then says "delivered" with a signed proof.
export async function fetchInbox(relay, ident, waitS, signal, onChange = () => {}) {
  const after = (await db.get('kv', 'inboxCursor')) || 0;
  const receiptsAfter = (await db.get('kv', 'receiptCursor')) || 0;
  const list = await relay.inbox(after, receiptsAfter, waitS, signal);
  await takeReceipts(ident, list.receipts, list.receipts_cursor, onChange);
  if (!list.messages.length) return 0;
  const roster = await refreshRoster(relay, ident);
  let got = 0;
  for (const m of list.messages) {
    if (typeof m.message_id !== 'string' || !/^[0-9a-f-]{36}$/i.test(m.message_id)) continue;
    const id = m.message_id.toLowerCase();
    if (await db.get('inbox', id)) continue;
    const from = roster.members.find((x) => x.deviceId === m.from);
    const entry = { id, from: m.from, fromName: from ? from.name : '?', sentAt: Number(m.sent_at) || 0,
                    durationMs: Number(m.duration_ms) || 0, played: false, position: 0, encrypted: true };
    try {
      const bytes = await relay.download(id, MAX_ENVELOPE);
      if (!isEnvelope(bytes)) throw new E2EError('not encrypted');
      const { plain } = openNote({ envelope: bytes, messageId: id, roster, me: ident.deviceId, keys: ident.keys });
      parseOggOpus(plain);
      entry.audio = plain;
    } catch (e) {
      if (e instanceof RelayError && e.transient) throw e;
      entry.refused = e.message || String(e);
    }
    await db.put('inbox', entry);
    got++;
    onChange({ id });
    if (!entry.refused) {
      try { await sendReceipt(relay, ident, id, 'delivered'); } catch { /* sent again on the next pass */ }
    }
  }
  await db.put('kv', list.cursor, 'inboxCursor');
  return got;
}

export async function sendReceipt(relay, ident, id, state) {
  const roster = parseRoster(ident.rosterBytes);
  await relay.receipt(id, state, receiptProof(ident.keys, id, roster.familyId, ident.deviceId, state));
  await db.update('inbox', id, (e) => e && ({ ...e, [state === 'played' ? 'playedSent' : 'deliveredSent']: true }));
}

// Receipts sent on the letters the page itself sent (they come with the
// inbox answer), checked against the recipients' keys before anything is
// marked.
async function takeReceipts(ident, receipts, cursor, onChange) {
  if (!receipts.length) return 0;
  const roster = parseRoster(ident.rosterBytes);
  for (const r of receipts) {
    if (typeof r.message_id !== 'string' || typeof r.device_id !== 'string' || typeof r.proof !== 'string') continue;
    const id = r.message_id.toLowerCase();
    const state = r.state === 'played' ? 'played' : 'delivered';
    let proof;
    try { proof = b64(r.proof); } catch { continue; }
    await db.update('outbox', id, (o) => {
      if (!o || !(o.recipients || []).includes(r.device_id)) return undefined;
      if (!receiptValid(proof, roster, id, r.device_id, state)) return undefined;
      const at = Number(r.at) || Math.floor(Date.now() / 1000);
      const next = { ...o, deliveredBy: { ...(o.deliveredBy || {}) }, playedBy: { ...(o.playedBy || {}) } };
      next.deliveredBy[r.device_id] = next.deliveredBy[r.device_id] || at;
      if (state === 'played') next.playedBy[r.device_id] = next.playedBy[r.device_id] || at;
      return next;
    });
  }
  await db.put('kv', cursor, 'receiptCursor');
  onChange({});
  return receipts.length;
}

// Receipts the page owes: a letter heard while the relay could not be reached.
export async function sendOwedReceipts(relay, ident) {
  for (const e of await db.all('inbox')) {
    if (e.refused) continue;
    if (!e.deliveredSent) await sendReceipt(relay, ident, e.id, 'delivered');
    if (e.played && !e.playedSent) await sendReceipt(relay, ident, e.id, 'played');
  }
}
