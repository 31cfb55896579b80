// The parents' page: join with the code, record, listen, send, hear the
// replies. Offline first: everything recorded is in IndexedDB before it is
// shown as recorded, and leaves whenever the relay can be reached.
import * as db from './db.js';
import { t, lang } from './i18n.js';
import { Relay, RelayError } from './api.js';
import { Recorder, recordingSupported } from './recorder.js';
import { newDeviceKeys, pairingAnswer, pairingOpenC, E2EError, parseRoster } from './e2e.js';
import { parseOggOpus, OggOpusWriter } from './ogg.js';
import * as sync from './sync.js';

const $ = (sel) => document.querySelector(sel);
const main = () => $('#main');
const SPEEDS = [0.75, 1, 1.5];
let ident = null;
let relay = new Relay('');
let recorder = null;
let reviewId = null;
let online = navigator.onLine;
let progress = {};

// ---- small DOM helpers -----------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}
function say(text, kind = 'info') {
  const s = $('#status');
  s.textContent = text;
  s.dataset.kind = kind;
}
function sentence(e) {
  if (e instanceof RelayError) {
    switch (e.kind) {
      case 'offline': return t('offline');
      case 'not_found': return t('err_code');
      case 'expired': case 'conflict': return t('err_code_used');
      case 'rate_limited': return t('err_rate', e.retryAfter || 10);
      case 'full': return t('err_full');
      case 'garbage': return t('err_garbage');
      case 'server': return t('err_server');
    }
    return t('err_unknown');
  }
  if (e instanceof E2EError) return e.message === 'the codes do not match' ? t('err_mismatch') : e.message;
  if (e && e.name === 'NotAllowedError') return t('err_mic');
  if (e && (e.name === 'NotFoundError' || e.name === 'OverconstrainedError')) return t('err_nomic');
  return t('err_unknown');
}
// Arrow keys move between the page's controls, for keypad phones.
document.addEventListener('keydown', (ev) => {
  if (ev.key !== 'ArrowDown' && ev.key !== 'ArrowUp') return;
  if (ev.target && ev.target.tagName === 'INPUT' && ev.target.type !== 'text' && ev.target.type !== 'tel') return;
  const items = [...document.querySelectorAll('button:not([disabled]), input, audio')];
  const i = items.indexOf(document.activeElement);
  const next = items[(i + (ev.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length];
  if (next) { next.focus(); ev.preventDefault(); }
});

// ---- join -----------------------------------------------------------------------

function showJoin() {
  const code = el('input', { id: 'code', type: 'tel', inputmode: 'numeric', autocomplete: 'off', maxlength: '10',
                             pattern: '[0-9]{10}', 'aria-describedby': 'join-help' });
  const name = el('input', { id: 'name', type: 'text', autocomplete: 'nickname', maxlength: '64' });
  const button = el('button', { id: 'join', class: 'big', text: t('join') });
  const form = el('form', { on: { submit: (ev) => { ev.preventDefault(); join(code.value.trim(), name.value.trim(), button); } } },
    el('h1', { text: t('join_heading') }),
    el('p', { id: 'join-help', text: t('join_help') }),
    el('label', { for: 'code', text: t('code') }), code,
    el('label', { for: 'name', text: t('name') }), name,
    button);
  main().replaceChildren(form);
  code.focus();
}

async function join(code, name, button) {
  const nameLen = new TextEncoder().encode(name).length;
  if (!/^[0-9]{10}$/.test(code)) return say(t('err_code'), 'error');
  if (nameLen < 1 || nameLen > 64) return say(t('err_name'), 'error');
  button.disabled = true;
  say(t('joining'));
  try {
    const keys = newDeviceKeys();
    const nameplate = code.slice(0, 4);
    const { claim, a } = await relay.claimPairing(nameplate);
    const { b, state } = pairingAnswer(code, a, keys, name);
    await relay.answerPairing(nameplate, claim, b);
    await db.put('kv', { nameplate, claim, state, keys, name }, 'pairing');
    showWaiting();
    await awaitPairing();
  } catch (e) {
    say(sentence(e), 'error');
    button.disabled = false;
  }
}

function showWaiting() {
  main().replaceChildren(el('p', { id: 'waiting', class: 'notice', role: 'status', text: t('waiting_pair') }));
}

// Asks every few seconds until the inviter confirms (its phone may be
// offline for hours: the relay holds the messages); survives a reload.
async function awaitPairing() {
  const p = await db.get('kv', 'pairing');
  if (!p) return showJoin();
  for (;;) {
    let c;
    try {
      c = await relay.pairingResult(p.nameplate, p.claim);
    } catch (e) {
      if (e instanceof RelayError && e.transient) { say(sentence(e), 'error'); await sleep(5000); continue; }
      await db.del('kv', 'pairing');
      say(sentence(e), 'error');
      return showJoin();
    }
    if (!c) { await sleep(3000); continue; }
    try {
      const r = pairingOpenC(p.state, c, p.keys, null);
      ident = { token: r.token, deviceId: r.deviceId, familyId: r.roster.familyId, keys: p.keys, name: p.name,
                rosterBytes: r.rosterBytes };
      await db.put('kv', ident, 'identity');
      await db.del('kv', 'pairing');
      relay = sync.relayFor(ident);
      say(t('paired'));
      showHome();
      startLoops();
      return;
    } catch (e) {
      await db.del('kv', 'pairing');
      say(sentence(e), 'error');
      return showJoin();
    }
  }
}

// ---- home: record, letters ------------------------------------------------------

function fmtTime(sec) {
  const d = new Date(sec * 1000);
  return d.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

async function showHome() {
  const rec = el('button', { id: 'record', class: 'huge', text: t('record'), on: { click: toggleRecord } });
  const timer = el('p', { id: 'timer', 'aria-live': 'off', text: '' });
  const meter = el('meter', { id: 'level', min: '0', max: '1', value: '0', 'aria-label': t('level') });
  const inbox = el('section', { id: 'inbox', 'aria-labelledby': 'inbox-h' }, el('h2', { id: 'inbox-h', text: t('inbox') }));
  const outbox = el('section', { id: 'outbox', 'aria-labelledby': 'outbox-h' }, el('h2', { id: 'outbox-h', text: t('outbox') }));
  const leave = el('button', { id: 'leave', class: 'quiet', text: t('leave'), on: { click: leaveFamily } });
  main().replaceChildren(el('div', { class: 'recorder' }, rec, timer, meter), inbox, outbox, leave);
  await renderLists();
}

async function renderLists() {
  const inbox = $('#inbox'), outbox = $('#outbox');
  if (!inbox) return;
  const speed = (await db.get('kv', 'speed')) || 1;
  const letters = (await db.all('inbox')).sort((a, b) => b.sentAt - a.sentAt);
  const ul = el('ul', {});
  for (const l of letters) {
    const label = [t('from', l.fromName), fmtTime(l.sentAt), t('seconds', l.durationMs / 1000),
                   l.refused ? t('refused', l.refused) : (l.played ? t('heard') : t('new'))].join(' · ');
    const li = el('li', {}, el('span', { class: 'what', text: label }));
    if (!l.refused) li.append(el('button', { class: 'play', 'data-id': l.id, text: t('play'), 'aria-label': `${t('play')}: ${label}`,
                                             on: { click: () => play(l.id) } }));
    ul.append(li);
  }
  inbox.replaceChildren(inbox.firstChild, letters.length ? ul : el('p', { text: t('none') }),
    el('button', { id: 'speed', text: t('speed', speed), on: { click: cycleSpeed } }));
  const mine = (await db.all('outbox')).filter((o) => o.state !== 'recording' && o.state !== 'review')
    .sort((a, b) => b.createdAt - a.createdAt);
  const names = ident ? Object.fromEntries(parseRoster(ident.rosterBytes).members.map((m) => [m.deviceId, m.name])) : {};
  const ol = el('ul', {});
  for (const o of mine) {
    let state;
    const played = Object.keys(o.playedBy || {}), delivered = Object.keys(o.deliveredBy || {});
    if (played.length) state = t('st_played', played.map((d) => names[d] || '?').join(', '));
    else if (delivered.length) state = t('st_delivered', delivered.map((d) => names[d] || '?').join(', '));
    else if (o.state === 'sent') state = t('st_sent');
    else if (progress[o.id]) state = t('st_sending', progress[o.id]);
    else state = t('st_queued');
    ol.append(el('li', { 'data-id': o.id, 'data-state': o.state },
      el('span', { class: 'what', text: [fmtTime(o.createdAt / 1000), t('seconds', o.durationMs / 1000), state].join(' · ') })));
  }
  outbox.replaceChildren(outbox.firstChild, mine.length ? ol : el('p', { text: t('none') }));
}

async function cycleSpeed() {
  const s = (await db.get('kv', 'speed')) || 1;
  const next = SPEEDS[(SPEEDS.indexOf(s) + 1) % SPEEDS.length];
  await db.put('kv', next, 'speed');
  const a = $('#player');
  if (a) a.playbackRate = next;
  renderLists();
}

async function toggleRecord() {
  const button = $('#record');
  if (recorder) return stopRecord();
  if (!recordingSupported()) return say(t('err_unsupported'), 'error');
  const id = crypto.randomUUID();
  await db.put('outbox', { id, createdAt: Date.now(), state: 'recording', durationMs: 0 });
  recorder = new Recorder({
    onPage: (seq, bytes) => { db.addPage(id, seq, bytes); },
    onLevel: (v) => { const m = $('#level'); if (m) m.value = v; },
  });
  recorder.id = id;
  try {
    await recorder.start();
  } catch (e) {
    recorder = null;
    await db.del('outbox', id);
    return say(sentence(e), 'error');
  }
  button.textContent = t('stop');
  button.setAttribute('aria-pressed', 'true');
  say(t('recording'));
  const tick = () => {
    if (!recorder) return;
    const timer = $('#timer');
    timer.textContent = `${t('recording')} ${t('seconds', recorder.seconds)}`;
    timer.dataset.seconds = recorder.seconds.toFixed(2);
    setTimeout(tick, 250);
  };
  tick();
}

async function stopRecord() {
  const r = recorder;
  recorder = null;
  let durationMs;
  try {
    durationMs = await r.stop();
  } catch (e) {
    say(sentence(e), 'error');
    return showHome();
  }
  // The last page (end of stream) was handed to IndexedDB by stop(); wait
  // for every write before calling the note recorded.
  await db.update('outbox', r.id, (o) => ({ ...o, state: 'review', durationMs, pages: r.seq }));
  showReview(r.id);
}

// Listen, record again, send, or throw away (asked twice).
function showReview(id) {
  reviewId = id;
  let sure = false;
  const discard = el('button', { id: 'discard', text: t('discard'), on: { click: async () => {
    if (!sure) { sure = true; say(t('discard_sure'), 'warn'); discard.focus(); return; }
    await db.dropPages(id); await db.del('outbox', id); reviewId = null; say(''); showHome();
  } } });
  main().replaceChildren(el('div', { class: 'review', role: 'group', 'aria-label': t('st_recorded') },
    el('p', { text: t('st_recorded') }),
    el('button', { id: 'listen', class: 'big', text: t('listen'), on: { click: () => listen(id) } }),
    el('button', { id: 'again', class: 'big', text: t('again'), on: { click: async () => {
      await db.dropPages(id); await db.del('outbox', id); reviewId = null; await showHome(); toggleRecord();
    } } }),
    el('button', { id: 'send', class: 'big', text: t('send'), on: { click: async () => {
      await db.update('outbox', id, (o) => ({ ...o, state: 'queued' })); reviewId = null; say(''); await showHome(); kick();
    } } }),
    discard));
  $('#listen').focus();
}

async function noteBytes(id) { return sync.concatPages(await db.pagesOf(id)); }

async function listen(id) { playBytes(await noteBytes(id), null); }

function playBytes(bytes, onEnd, start = 0, id = null) {
  let a = $('#player');
  if (!a) { a = el('audio', { id: 'player', controls: '' }); main().append(a); }
  if (a.src) URL.revokeObjectURL(a.src);
  a.src = URL.createObjectURL(new Blob([bytes], { type: 'audio/ogg; codecs=opus' }));
  a.dataset.id = id || '';
  db.get('kv', 'speed').then((s) => { a.playbackRate = s || 1; a.preservesPitch = true; });
  a.onloadedmetadata = () => { if (start > 0 && start < a.duration - 0.5) a.currentTime = start; };
  a.onended = () => { if (onEnd) onEnd(); };
  a.ontimeupdate = () => { if (id) savePosition(id, a.currentTime); };
  a.play().catch(() => {});
}

let lastSaved = 0;
function savePosition(id, pos) {
  if (Math.abs(pos - lastSaved) < 1) return;
  lastSaved = pos;
  db.update('inbox', id, (e) => e && ({ ...e, position: pos }));
}

async function play(id) {
  const l = await db.get('inbox', id);
  if (!l || !l.audio) return;
  playBytes(l.audio, async () => {
    await db.update('inbox', id, (e) => ({ ...e, played: true, position: 0 }));
    renderLists();
    try { await sync.sendReceipt(relay, ident, id, 'played'); } catch { /* owed: sent on the next pass */ }
  }, l.position || 0, id);
}

async function leaveFamily() {
  const b = $('#leave');
  if (!b.dataset.sure) { b.dataset.sure = '1'; say(t('leave_sure'), 'warn'); return; }
  stopLoops();
  await db.wipe();
  ident = null;
  relay = new Relay('');
  say(t('left'));
  showJoin();
}

// ---- the loops: outbox, inbox, receipts -------------------------------------------

let loopsOn = false;
let wake = null;
let abort = null;
const sleep = (ms) => new Promise((r) => { wake = r; setTimeout(r, ms); });
function kick() { if (wake) wake(); if (navigator.serviceWorker && navigator.serviceWorker.ready)
  navigator.serviceWorker.ready.then((reg) => reg.sync && reg.sync.register('outbox')).catch(() => {}); }

function stopLoops() { loopsOn = false; if (abort) abort.abort(); kick(); }

function startLoops() {
  if (loopsOn) return;
  loopsOn = true;
  outboxLoop();
  // One long poll: the inbox answer carries the receipts too.
  pollLoop('inbox', (s) => sync.fetchInbox(relay, ident, 25, s, () => renderLists()));
}

async function outboxLoop() {
  let delay = 1000;
  while (loopsOn) {
    try {
      await sync.sendOwedReceipts(relay, ident);
      await sync.sendOutbox(relay, ident, (p) => {
        if (p.total) progress[p.id] = Math.floor((100 * p.done) / p.total);
        if (p.sent) delete progress[p.id];
        renderLists();
      });
      delay = 1000;
      if (!online) { online = true; say(t('online')); }
      await sleep(60000);
    } catch (e) {
      if (e instanceof RelayError && e.kind === 'offline') { online = false; say(t('offline'), 'warn'); }
      else say(sentence(e), 'error');
      await sleep(e.retryAfter ? e.retryAfter * 1000 : delay);
      delay = Math.min(delay * 2, 30000);
    }
  }
}

async function pollLoop(name, once) {
  let delay = 1000;
  while (loopsOn) {
    abort = new AbortController();
    try {
      await once(abort.signal);
      delay = 1000;
    } catch (e) {
      if (!loopsOn) return;
      await new Promise((r) => setTimeout(r, e.retryAfter ? e.retryAfter * 1000 : delay));
      delay = Math.min(delay * 2, 30000);
    }
  }
}

window.addEventListener('online', () => { online = true; kick(); });
window.addEventListener('offline', () => { online = false; say(t('offline'), 'warn'); });
navigator.serviceWorker && navigator.serviceWorker.addEventListener('message', () => renderLists());

// A recording the page was closed in the middle of: its pages are kept; the
// end of stream is added from the packets they hold, and it waits for the
// person to choose, as any other recording.
async function recoverRecordings() {
  for (const o of await db.all('outbox')) {
    if (o.state !== 'recording') continue;
    const pages = await db.pagesOf(o.id);
    try {
      const info = parseOggOpus(sync.concatPages(pages));
      const out = [];
      const w = new OggOpusWriter({ preSkip: info.preSkip, inputRate: info.inputRate, onPage: (p) => out.push(p) });
      for (const p of info.packets) w.addPacket(p);
      w.finish();
      await db.dropPages(o.id);
      for (let i = 0; i < out.length; i++) await db.addPage(o.id, i, out[i]);
      await db.put('outbox', { ...o, state: 'review', durationMs: Math.round(info.durationSeconds * 1000) });
    } catch {
      await db.dropPages(o.id);
      await db.del('outbox', o.id);
    }
  }
}

async function start() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
  await recoverRecordings();
  ident = await sync.identity();
  if (ident) {
    relay = sync.relayFor(ident);
    const review = (await db.all('outbox')).find((o) => o.state === 'review');
    if (review) showReview(review.id); else await showHome();
    startLoops();
  } else if (await db.get('kv', 'pairing')) {
    showWaiting();
    awaitPairing();
  } else {
    showJoin();
  }
}
start();
