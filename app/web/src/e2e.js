// End-to-end encryption in the page: the joiner's side of CPace pairing,
// the roster, sealed voice-note envelopes and signed receipts, byte for byte
// as docs/encryption.md specifies and net/e2e/ implements in C. Pure
// functions over bytes: no network, no storage.
import { ed25519, x25519, ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { hmac } from '@noble/hashes/hmac.js';

const enc = new TextEncoder();
const MAGIC_ROSTER = enc.encode('JSR1');
const MAGIC_PAIR = enc.encode('JSP1');
const MAGIC_NOTE = enc.encode('JSE1');
const ZERO_NONCE = new Uint8Array(24);
export const CHUNK_SIZE = 16384;
const MAX_NOTE_BYTES = 600 * 8000 * 5 / 4 + 65536; // codec/codec.h JC_MAX_NOTE_BYTES
const MAX_MEMBERS = 32;

export class E2EError extends Error {}
const refuse = (why) => { throw new E2EError(why); };

export function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
export const equalBytes = (a, b) => {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
};
let randomSource = (n) => crypto.getRandomValues(new Uint8Array(n));
export const randomBytes = (n) => randomSource(n);
// Tests only: replays fixed randomness, to reproduce tests/e2e/vectors.txt.
export function setRandomSource(fn) { randomSource = fn; }
export const hexToBytes = (h) => {
  if (!/^([0-9a-f]{2})*$/i.test(h)) refuse('an id that is not hex');
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.substr(i * 2, 2), 16);
  return out;
};
export const bytesToHex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
export const uuidBytes = (uuid) => hexToBytes(uuid.replace(/-/g, '').toLowerCase());
const u32le = (v) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); return b; };
const u64le = (v) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(v), true); return b; };

// KDF(key, label) = HMAC-SHA-512(key, "jiashu v1 " ‖ label)[0..32]
export const kdf = (key, label) => hmac(sha512, key, enc.encode('jiashu v1 ' + label)).slice(0, 32);

// ---- keys -------------------------------------------------------------------

// A device's two key pairs from their secrets: an Ed25519 seed and an
// X25519 secret, 32 bytes each.
export function deviceKeys(seed, boxSk) {
  const signPk = ed25519.getPublicKey(seed);
  return { signSk: concat(seed, signPk), signPk, boxSk, boxPk: x25519.getPublicKey(boxSk) };
}
export const newDeviceKeys = () => deviceKeys(randomBytes(32), randomBytes(32));
const sign = (signSk, msg) => ed25519.sign(msg, signSk.subarray(0, 32));
const verify = (sig, msg, pk) => { try { return ed25519.verify(sig, msg, pk); } catch { return false; } };

// ---- CPace (CPACE-RISTR255-SHA512), the joiner's side ----------------------

function leb128(n) {
  const out = [];
  do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n);
  return Uint8Array.from(out);
}
export const prependLen = (b) => concat(leb128(b.length), b);
export const prefixFreeCat = (...parts) => concat(...parts.map(prependLen));

export function cpaceGeneratorString(dsi, prs, ci, sid, sInBytes) {
  const zpad = Math.max(0, sInBytes - 1 - prependLen(prs).length - prependLen(dsi).length);
  return prefixFreeCat(dsi, prs, new Uint8Array(zpad), ci, sid);
}
export function cpaceGenerator(prs, ci, sid) {
  const s = cpaceGeneratorString(enc.encode('CPaceRistretto255'), prs, ci, sid, 128);
  return ristretto255_hasher.deriveToCurve(sha512(s));
}
const L = ristretto255.Point.Fn.ORDER;
export function cpaceScalar(bytes32) {
  const b = bytes32.slice();
  b[31] &= 0x0f;
  let s = 0n;
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(b[i]);
  s %= L;
  if (s === 0n) refuse('a zero scalar');
  return s;
}
export function cpaceDecode(bytes) {
  let p;
  try { p = ristretto255.Point.fromBytes(bytes); } catch { refuse('the pairing message is damaged'); }
  return p;
}
export function cpaceIsk(sid, K, msgA, msgB) {
  return sha512(concat(prefixFreeCat(enc.encode('CPaceRistretto255_ISK'), sid, K), msgA, msgB));
}

const CI = enc.encode('jiashu pairing v1');
const ADA = enc.encode('inviter');
const ADB = enc.encode('joiner');

// Parses message A and answers it with B. code: the 10 typed digits.
// Returns { b, state } where state is what openC needs.
export function pairingAnswer(code, a, keys, name) {
  if (!/^[0-9]{10}$/.test(code)) refuse('the code is ten digits');
  if (a.length < 5 + 16 + 2 || !equalBytes(a.subarray(0, 4), MAGIC_PAIR) || a[4] !== 1)
    refuse('the pairing message is damaged');
  const sid = a.slice(5, 21);
  const msgA = a.slice(21);
  // MSGa = prependLen(Ya) ‖ prependLen(ADa) with Ya 32 bytes.
  if (msgA.length !== 1 + 32 + 1 + ADA.length || msgA[0] !== 32 || msgA[33] !== ADA.length ||
      !equalBytes(msgA.subarray(34), ADA))
    refuse('the pairing message is damaged');
  const Ya = cpaceDecode(msgA.subarray(1, 33));
  const g = cpaceGenerator(enc.encode(code), CI, sid);
  const yb = cpaceScalar(randomBytes(32));
  const Yb = g.multiply(yb).toBytes();
  const Kp = Ya.multiply(yb);
  if (Kp.is0()) refuse('the pairing message is damaged');
  const msgB = prefixFreeCat(Yb, ADB);
  const isk = cpaceIsk(sid, Kp.toBytes(), msgA, msgB);
  const nameBytes = enc.encode(name);
  if (nameBytes.length < 1 || nameBytes.length > 64) refuse('a name is 1 to 64 bytes');
  const head = concat(MAGIC_PAIR, Uint8Array.of(2), msgB);
  const box = xchacha20poly1305(kdf(isk, 'pair joiner'), ZERO_NONCE, concat(a, head))
    .encrypt(concat(keys.signPk, keys.boxPk, Uint8Array.of(nameBytes.length), nameBytes));
  const b = concat(head, box);
  return { b, state: { a, b, kInviter: kdf(isk, 'pair inviter') } };
}

// Opens message C (or F, the inviter's refusal). Returns { deviceId (hex),
// token, roster (parsed), rosterBytes }.
export function pairingOpenC(state, c, keys, familyIdHex) {
  if (c.length === 5 && equalBytes(c.subarray(0, 4), MAGIC_PAIR) && c[4] === 4)
    refuse('the codes do not match');
  if (c.length < 5 + 16 || !equalBytes(c.subarray(0, 4), MAGIC_PAIR) || c[4] !== 3)
    refuse('the pairing message is damaged');
  let plain;
  try {
    plain = xchacha20poly1305(state.kInviter, ZERO_NONCE, concat(state.a, state.b, MAGIC_PAIR, Uint8Array.of(3)))
      .decrypt(c.subarray(5));
  } catch { refuse('the codes do not match'); }
  if (plain.length < 17) refuse('the pairing message is damaged');
  const deviceId = bytesToHex(plain.subarray(0, 16));
  const tokenLen = plain[16];
  if (plain.length < 17 + tokenLen) refuse('the pairing message is damaged');
  const token = new TextDecoder().decode(plain.subarray(17, 17 + tokenLen));
  if (!/^[\x21-\x7e]{1,128}$/.test(token)) refuse('the pairing message is damaged');
  const rosterBytes = plain.slice(17 + tokenLen);
  const roster = parseRoster(rosterBytes);
  if (familyIdHex && roster.familyId !== familyIdHex) refuse('the roster is of another family');
  const me = roster.members.find((m) => m.deviceId === deviceId);
  if (!me || !equalBytes(me.signPk, keys.signPk) || !equalBytes(me.boxPk, keys.boxPk))
    refuse('the roster does not carry this device');
  if (!roster.members.some((m) => equalBytes(m.signPk, roster.signerPk)) || !roster.signatureValid)
    refuse('the roster is not signed by a member');
  return { deviceId, token, roster, rosterBytes };
}

// ---- roster -------------------------------------------------------------------

export function parseRoster(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (n) => { if (bytes.length - at < n) refuse('the member list is damaged'); };
  need(4 + 8 + 16 + 1);
  if (!equalBytes(bytes.subarray(0, 4), MAGIC_ROSTER)) refuse('the member list is damaged');
  at = 4;
  const version = dv.getBigUint64(at, true); at += 8;
  const familyId = bytesToHex(bytes.subarray(at, at + 16)); at += 16;
  const count = bytes[at++];
  if (count < 1 || count > MAX_MEMBERS) refuse('the member list is damaged');
  const members = [];
  const seen = new Set();
  for (let i = 0; i < count; i++) {
    need(16 + 32 + 32 + 1);
    const m = { deviceId: bytesToHex(bytes.subarray(at, at + 16)),
                signPk: bytes.slice(at + 16, at + 48), boxPk: bytes.slice(at + 48, at + 80) };
    at += 80;
    const nameLen = bytes[at++];
    if (nameLen < 1 || nameLen > 64) refuse('the member list is damaged');
    need(nameLen);
    m.name = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(at, at + nameLen));
    at += nameLen;
    for (const k of [m.deviceId, bytesToHex(m.signPk), bytesToHex(m.boxPk)]) {
      if (seen.has(k)) refuse('the member list is damaged');
      seen.add(k);
    }
    members.push(m);
  }
  need(32 + 64);
  const signerPk = bytes.slice(at, at + 32); at += 32;
  const signature = bytes.slice(at, at + 64); at += 64;
  if (at !== bytes.length) refuse('the member list is damaged');
  const signed = concat(enc.encode('jiashu roster v1'), bytes.subarray(0, at - 64));
  return { version, familyId, members, signerPk, signatureValid: verify(signature, signed, signerPk) };
}

// Accepts newBytes over the roster held (parsed), as docs/encryption.md says.
export function acceptRoster(held, newBytes) {
  const r = parseRoster(newBytes);
  if (r.familyId !== held.familyId) refuse('the member list is of another family');
  if (r.version < held.version) refuse('an older member list');
  if (r.version === held.version) return held;
  if (!held.members.some((m) => equalBytes(m.signPk, r.signerPk)) || !r.signatureValid)
    refuse('the member list is not signed by a member');
  return r;
}

// ---- envelopes ----------------------------------------------------------------

function chunkNonce(prefix, i, last) {
  const n = new Uint8Array(24);
  n.set(prefix, 0);
  let v = BigInt(i);
  for (let k = 22; k >= 16; k--) { n[k] = Number(v & 0xffn); v >>= 8n; }
  n[23] = last ? 1 : 0;
  return n;
}

function wrapKey(K, messageId, deviceId, boxPk) {
  const ephSk = randomBytes(32);
  const ephPk = x25519.getPublicKey(ephSk);
  const kw = kdf(concat(x25519.getSharedSecret(ephSk, boxPk), ephPk, boxPk), 'wrap');
  return concat(ephPk, xchacha20poly1305(kw, ZERO_NONCE, concat(messageId, deviceId)).encrypt(K));
}

function unwrapKey(wrapped, messageId, deviceId, boxSk, boxPk) {
  const ephPk = wrapped.subarray(0, 32);
  let shared;
  try { shared = x25519.getSharedSecret(boxSk, ephPk); } catch { refuse('the note is not for this device'); }
  const kw = kdf(concat(shared, ephPk, boxPk), 'wrap');
  try {
    return xchacha20poly1305(kw, ZERO_NONCE, concat(messageId, deviceId)).decrypt(wrapped.subarray(32));
  } catch { refuse('the note is not for this device'); }
}

// Seals plain (an Ogg Opus note) for every other member of the roster.
export function sealNote({ plain, messageId, roster, me, keys, createdMs = Date.now(), chunkSize = CHUNK_SIZE }) {
  if (plain.length < 1 || plain.length > MAX_NOTE_BYTES) refuse('the note is too large');
  const recipients = roster.members.filter((m) => m.deviceId !== me);
  if (!recipients.length) refuse('nobody else is in the family yet');
  const K = randomBytes(32);
  const noncePrefix = randomBytes(16);
  const mid = uuidBytes(messageId);
  const parts = [MAGIC_NOTE, Uint8Array.of(1), u32le(chunkSize), mid,
                 hexToBytes(roster.familyId), hexToBytes(me), keys.signPk, u64le(createdMs),
                 noncePrefix, Uint8Array.of(recipients.length)];
  for (const r of recipients) {
    const did = hexToBytes(r.deviceId);
    parts.push(did, wrapKey(K, mid, did, r.boxPk));
  }
  const header = concat(...parts);
  const headerHash = sha512(header).slice(0, 32);
  const n = Math.ceil(plain.length / chunkSize);
  const chunks = [];
  for (let i = 0; i < n; i++) {
    const piece = plain.subarray(i * chunkSize, Math.min(plain.length, (i + 1) * chunkSize));
    chunks.push(xchacha20poly1305(K, chunkNonce(noncePrefix, i, i === n - 1), headerHash).encrypt(piece));
  }
  const body = concat(header, ...chunks);
  const sig = sign(keys.signSk, concat(enc.encode('jiashu note v1'), sha512(body)));
  return { envelope: concat(body, sig), recipients: recipients.map((r) => r.deviceId) };
}

export const isEnvelope = (bytes) => bytes.length >= 4 && equalBytes(bytes.subarray(0, 4), MAGIC_NOTE);

// Opens an envelope. Refuses with E2EError (one sentence) on any failure.
export function openNote({ envelope, messageId, roster, me, keys }) {
  const dv = new DataView(envelope.buffer, envelope.byteOffset, envelope.byteLength);
  const fixed = 4 + 1 + 4 + 16 + 16 + 16 + 32 + 8 + 16 + 1;
  if (envelope.length < fixed || !isEnvelope(envelope)) refuse('not an encrypted note');
  if (envelope[4] !== 1) refuse('not a voice note');
  const chunkSize = dv.getUint32(5, true);
  if (chunkSize < 1024 || chunkSize > 1048576) refuse('the encrypted note is damaged');
  let at = 9;
  const mid = envelope.subarray(at, at + 16); at += 16;
  const familyId = bytesToHex(envelope.subarray(at, at + 16)); at += 16;
  const sender = bytesToHex(envelope.subarray(at, at + 16)); at += 16;
  const senderPk = envelope.subarray(at, at + 32); at += 32;
  at += 8; // created_ms
  const noncePrefix = envelope.subarray(at, at + 16); at += 16;
  const count = envelope[at++];
  if (count < 1 || count > MAX_MEMBERS) refuse('the encrypted note is damaged');
  const headerLen = at + count * 96;
  // The chunks' count comes from the length: a writer may seal as it records.
  if (envelope.length < headerLen + 16 + 1 + 64 || envelope.length > MAX_NOTE_BYTES * 2)
    refuse('the encrypted note is damaged');
  const body = envelope.length - headerLen - 64;
  const stride = chunkSize + 16;
  const n = Math.ceil(body / stride);
  if (body - (n - 1) * stride <= 16) refuse('the encrypted note is damaged');
  if (familyId !== roster.familyId) refuse('the note is of another family');
  if (!equalBytes(mid, uuidBytes(messageId))) refuse('the note was moved from another message');
  const member = roster.members.find((m) => m.deviceId === sender);
  if (!member || !equalBytes(member.signPk, senderPk)) refuse('the note is not from a member of the family');
  const signed = envelope.subarray(0, envelope.length - 64);
  if (!verify(envelope.subarray(envelope.length - 64), concat(enc.encode('jiashu note v1'), sha512(signed)), senderPk))
    refuse('the note is not signed by its sender');
  const myId = hexToBytes(me);
  let K = null;
  for (let i = 0; i < count; i++) {
    const o = at + i * 96;
    if (equalBytes(envelope.subarray(o, o + 16), myId))
      K = unwrapKey(envelope.subarray(o + 16, o + 96), mid, myId, keys.boxSk, keys.boxPk);
  }
  if (!K) refuse('the note is not for this device');
  const header = envelope.subarray(0, headerLen);
  const headerHash = sha512(header).slice(0, 32);
  const plain = new Uint8Array(body - 16 * n);
  let src = headerLen;
  for (let i = 0; i < n; i++) {
    const clen = i + 1 < n ? stride : body - (n - 1) * stride;
    try {
      plain.set(xchacha20poly1305(K, chunkNonce(noncePrefix, i, i === n - 1), headerHash)
        .decrypt(envelope.subarray(src, src + clen)), i * chunkSize);
    } catch { refuse('the encrypted note is damaged'); }
    src += clen;
  }
  return { plain, sender };
}

// ---- receipts -------------------------------------------------------------------

const receiptBytes = (messageId, familyId, deviceId, state) =>
  concat(enc.encode('jiashu receipt v1'), uuidBytes(messageId), hexToBytes(familyId), hexToBytes(deviceId),
         Uint8Array.of(state === 'played' ? 2 : 1));
export const receiptProof = (keys, messageId, familyId, me, state) =>
  sign(keys.signSk, receiptBytes(messageId, familyId, me, state));
export function receiptValid(proof, roster, messageId, deviceId, state) {
  const m = roster.members.find((x) => x.deviceId === deviceId);
  return !!m && proof.length === 64 && verify(proof, receiptBytes(messageId, roster.familyId, deviceId, state), m.signPk);
}
