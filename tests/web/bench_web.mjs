// The browser half of bench_web.sh: load times and bytes through the shaped
// link (counted by iptables on the client's side), then WebCodecs encoding
// 60 s of speech in the page as the recorder does (mono, 60 ms, 16 kbit/s,
// complexity 10) muxed by the page's own ogg.js.
import { execSync } from 'node:child_process';
import { chromium, readWav } from './web_lib.mjs';
import { OggOpusWriter } from '../../app/web/src/ogg.js';

const url = process.env.RELAY_URL;
const port = process.env.PORT;
function wire() {
  const text = execSync(`${process.env.COUNTERS} OUTPUT; ${process.env.COUNTERS} INPUT`, { encoding: 'utf8' });
  let n = 0;
  for (const line of text.split('\n')) if (line.includes(`pt:${port}`)) n += Number(line.trim().split(/\s+/)[1]);
  return n;
}
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync',
         // A phone reaches the relay through TLS; this address stands for it
         // (Service Workers and the microphone need a secure context).
         `--unsafely-treat-insecure-origin-as-secure=${url}`] });
const page = await (await browser.newContext({ viewport: { width: 360, height: 640 } })).newPage();
let before = wire(), t0 = Date.now();
await page.goto(url + '/');
await page.waitForSelector('#code');
const firstMs = Date.now() - t0;
await page.evaluate(() => navigator.serviceWorker.ready);
// The Service Worker's cache is filled once the worker is active.
const installedMs = Date.now() - t0;
const firstBytes = wire() - before;
before = wire(); t0 = Date.now();
await page.reload();
await page.waitForSelector('#code');
const cachedMs = Date.now() - t0;
const cachedBytes = wire() - before;
console.log(`first_load_ms ${firstMs}`);
console.log(`first_load_until_offline_ready_ms ${installedMs}`);
console.log(`first_load_wire_bytes ${firstBytes}`);
console.log(`cached_load_ms ${cachedMs}`);
console.log(`cached_load_wire_bytes ${cachedBytes}`);

// Encoding in the page: the same speech as the C encoder gets.
const speech = readWav(process.env.SPEECH);
const { ms, packets } = await page.evaluate(async ({ samples, rate }) => {
  const pcm = Float32Array.from(samples);
  const packets = [];
  const enc = new AudioEncoder({ output: (c) => { const b = new Uint8Array(c.byteLength); c.copyTo(b); packets.push(Array.from(b)); },
                                 error: (e) => { throw e; } });
  enc.configure({ codec: 'opus', sampleRate: rate, numberOfChannels: 1, bitrate: 16000,
                  opus: { format: 'opus', frameDuration: 60000, complexity: 10, signal: 'voice', application: 'voip' } });
  const t = performance.now();
  const step = 4096;
  for (let i = 0; i < pcm.length; i += step) {
    const data = pcm.subarray(i, Math.min(pcm.length, i + step));
    const ad = new AudioData({ format: 'f32-planar', sampleRate: rate, numberOfFrames: data.length, numberOfChannels: 1,
                               timestamp: Math.round((i * 1e6) / rate), data });
    enc.encode(ad);
    ad.close();
  }
  await enc.flush();
  return { ms: performance.now() - t, packets };
}, { samples: Array.from(speech.samples), rate: speech.rate });
// Muxed by the page's own ogg.js, as the recorder does.
let bytes = 0;
const w = new OggOpusWriter({ preSkip: 312, inputRate: speech.rate, onPage: (p) => { bytes += p.length; } });
for (const p of packets) w.addPacket(Uint8Array.from(p));
w.finish(speech.samples.length * 48000 / speech.rate);
console.log(`encode_ms ${ms.toFixed(0)}`);
console.log(`note_bytes ${bytes}`);
await browser.close();
