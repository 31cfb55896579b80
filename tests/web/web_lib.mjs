// What the browser tests share: a real relay serving the built page, Debian's
// Chromium driven by playwright-core (from tests/peers), a fake microphone
// fed from a WAV, the jiashu program for the C side of a story, and checks
// that fail loudly.
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../peers/package.json'));
export const { chromium } = require('playwright-core');
export const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const JIASHU = process.env.JIASHU;
export const RELAY = process.env.JIASHU_RELAY;
export const WEB_DIR = process.env.WEB_DIR;
export const ARTEFACTS = process.env.WEB_ARTEFACTS || join(tmpdir(), 'jiashu-web-artefacts');
mkdirSync(ARTEFACTS, { recursive: true });

export const scratch = mkdtempSync(join(tmpdir(), 'jiashu-web.'));
const cleanups = [];
export function atExit(fn) { cleanups.push(fn); }
async function cleanup() {
  for (const fn of cleanups.reverse()) { try { await fn(); } catch { /* going anyway */ } }
  if (!process.env.KEEP_SCRATCH) rmSync(scratch, { recursive: true, force: true });
}
export function fail(msg) { throw new Error(msg); }
export async function main(fn) {
  const timer = setTimeout(() => { console.error('FAIL: the test ran out of time'); cleanup().then(() => process.exit(1)); },
                           Number(process.env.WEB_TEST_TIMEOUT_MS || 240000));
  try {
    await fn();
    console.log('ok');
    clearTimeout(timer);
    await cleanup();
    process.exit(0);
  } catch (e) {
    console.error('FAIL:', e && e.stack || e);
    clearTimeout(timer);
    await cleanup();
    process.exit(1);
  }
}
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export async function until(what, fn, ms = 30000, every = 200) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    await sleep(every);
  }
  fail(`${what} did not happen within ${ms} ms (${last && last.message ? last.message : last})`);
}

// A relay on a free port, serving the page. stop() ends it; kill() SIGKILLs.
export async function startRelay(db = join(scratch, 'relay.db'), port = 0, extra = []) {
  const proc = spawn(RELAY, ['--listen', `127.0.0.1:${port}`, '--db', db, '--web', WEB_DIR, '--quiet', ...extra],
                     { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const got = await new Promise((resolve, reject) => {
    proc.stderr.on('data', (d) => {
      err += d;
      const m = /listening on [^ ]*:(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    proc.on('exit', (code) => reject(new Error(`the relay exited (${code}): ${err}`)));
  });
  const relay = { proc, port: got, url: `http://127.0.0.1:${got}`, db,
    stop: async () => { if (proc.exitCode === null) { proc.kill('SIGTERM'); await new Promise((r) => proc.once('exit', r)); } },
    kill: async () => { if (proc.exitCode === null) { proc.kill('SIGKILL'); await new Promise((r) => proc.once('exit', r)); } } };
  atExit(relay.stop);
  return relay;
}

// Debian's Chromium, headless, with a fake microphone playing wav (looped).
export async function startBrowser({ wav, lang = 'en-US' } = {}) {
  const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required',
                '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--lang=${lang}`];
  if (wav) args.push(`--use-file-for-fake-audio-capture=${wav}`);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args, headless: true });
  atExit(() => browser.close());
  return browser;
}

export async function newPage(browser, url, { width = 360, height = 640, lang = 'en-US', bypassCSP = false } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, locale: lang, bypassCSP,
                                             permissions: ['microphone'] });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(url);
  return { context, page };
}

export function jiashu(home, ...args) {
  return execFileSync(JIASHU, ['--home', home, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// Mandarin speech from espeak-ng, 16-bit mono at rate Hz, seconds long
// (repeated to length), as the fake microphone's file.
export function speechWav(path, seconds, rate = 48000) {
  const text = '爸爸妈妈，我今天在学校很好。老师表扬了我。奶奶做了饺子。我们都很想你们，早点回家。';
  const one = path + '.one.wav';
  execFileSync('espeak-ng', ['-v', 'cmn', '-s', '150', '-w', one, text]);
  execFileSync('sox', [one, '-r', String(rate), '-c', '1', '-b', '16', path, 'repeat', '20', 'trim', '0', String(seconds)]);
  return path;
}

// Reads a 16-bit PCM WAV (mono) into Float32Array and its rate.
export function readWav(path) {
  const b = readFileSync(path);
  let at = 12, rate = 0, bits = 0, channels = 0;
  while (at + 8 <= b.length) {
    const id = b.toString('ascii', at, at + 4), len = b.readUInt32LE(at + 4);
    if (id === 'fmt ') { channels = b.readUInt16LE(at + 10); rate = b.readUInt32LE(at + 12); bits = b.readUInt16LE(at + 22); }
    if (id === 'data') {
      if (bits !== 16) fail(`${path}: ${bits}-bit WAV`);
      const n = Math.floor(len / 2 / channels);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = b.readInt16LE(at + 8 + i * 2 * channels) / 32768;
      return { samples: out, rate };
    }
    at += 8 + len + (len & 1);
  }
  fail(`${path}: no data chunk`);
}

// The loudness envelope in 20 ms frames (dB), resampling-proof.
export function envelope(samples, rate, frameMs = 20) {
  const n = Math.round(rate * frameMs / 1000);
  const out = [];
  for (let i = 0; i + n <= samples.length; i += n) {
    let s = 0;
    for (let k = 0; k < n; k++) s += samples[i + k] * samples[i + k];
    out.push(10 * Math.log10(s / n + 1e-10));
  }
  return out;
}
// The best normalised correlation of two envelopes over lags up to maxLag frames.
export function bestCorrelation(a, b, maxLag = 100) {
  let best = -1;
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let sa = 0, sb = 0, n = 0;
    for (let i = 0; i < a.length; i++) { const j = i + lag; if (j >= 0 && j < b.length) { sa += a[i]; sb += b[j]; n++; } }
    if (n < 50) continue;
    const ma = sa / n, mb = sb / n;
    let c = 0, va = 0, vb = 0;
    for (let i = 0; i < a.length; i++) {
      const j = i + lag;
      if (j < 0 || j >= b.length) continue;
      c += (a[i] - ma) * (b[j] - mb); va += (a[i] - ma) ** 2; vb += (b[j] - mb) ** 2;
    }
    best = Math.max(best, c / Math.sqrt(va * vb + 1e-12));
  }
  return best;
}

// A family made by the C client (home `home`, named `name`) that the page
// joins as `as`. Returns the page once it shows its home screen.
export async function pairPage(browser, relay, home, { as = 'Mama', name = '奶奶', lang = 'en-US' } = {}) {
  jiashu(home, 'setup', '--relay', relay.url, '--name', name);
  jiashu(home, 'family', 'create');
  const invite = jiashu(home, 'family', 'invite');
  const code = (/(\d{10})/.exec(invite.replace(/[\s-]/g, '')) || [])[1];
  if (!code) fail(`no code in: ${invite}`);
  const { page, context } = await newPage(browser, relay.url + '/', { lang });
  await page.fill('#code', code);
  await page.fill('#name', as);
  await page.click('#join');
  await page.waitForSelector('#waiting');
  await until('the pairing to finish', async () => { jiashu(home, 'sync'); return page.$('#record'); }, 60000, 1000);
  return { page, context };
}

// Records until the page holds `seconds` of sound (a loaded machine may
// deliver the microphone's sound later than the clock says), then stops.
export async function recordFor(page, seconds) {
  await page.click('#record');
  await until(`${seconds} s recorded`, async () =>
    Number(await page.getAttribute('#timer', 'data-seconds') || 0) >= seconds, seconds * 1000 + 60000, 100);
  await page.click('#record');
}

// Records seconds from the fake microphone and sends it; returns its id.
export async function recordAndSend(page, seconds) {
  await recordFor(page, seconds);
  await page.waitForSelector('#send');
  const before = new Set(await page.$$eval('#outbox li', (l) => l.map((x) => x.dataset.id)));
  await page.click('#send');
  const id = await until('the letter in the outbox', async () => {
    const ids = await page.$$eval('#outbox li', (l) => l.map((x) => x.dataset.id));
    return ids.find((x) => !before.has(x));
  });
  return id;
}

export function cInbox(home) {
  const j = JSON.parse(jiashu(home, 'inbox', '--json'));
  return Array.isArray(j) ? j : j.messages;
}
