// Unit tests of the page's Ogg Opus muxer and parser (app/web/src/ogg.js),
// with malformed input as the C codec's tests have, and a cross-check
// against a note the C encoder made: node tests/web/ogg_test.mjs NOTE.opus
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { OggOpusWriter, parseOggOpus, oggCrc, opusPacketSamples, oggPage } from '../../app/web/src/ogg.js';

let failures = 0;
function check(name, fn) {
  try { fn(); console.log('ok', name); } catch (e) { failures++; console.log('FAIL', name, '-', e.message); }
}
function throwsWith(fn, words) {
  let err = null;
  try { fn(); } catch (e) { err = e; }
  assert.ok(err, `accepted input that should fail with "${words}"`);
  assert.match(err.message, new RegExp(words), `wrong sentence: ${err.message}`);
}
const concat = (pages) => {
  const n = pages.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of pages) { out.set(p, o); o += p.length; }
  return out;
};
// A 60 ms SILK wideband packet (TOC config 11, one frame) with a body.
const packet = (n, fill) => { const p = new Uint8Array(n); p[0] = 11 << 3; p.fill(fill, 1); return p; };
function note(seconds, { realSamples, maxPageMs = 1000 } = {}) {
  const pages = [];
  const w = new OggOpusWriter({ preSkip: 312, inputRate: 16000, serial: 0x1234, maxPageMs,
                                onPage: (p) => pages.push(p) });
  const frames = Math.round(seconds / 0.06);
  for (let i = 0; i < frames; i++) w.addPacket(packet(40 + (i % 7), i & 0xff));
  w.finish(realSamples);
  return { pages, bytes: concat(pages) };
}

check('CRC of "OggS" matches the reference value', () => {
  // The Ogg CRC (poly 0x04c11db7, no reflection) of the ASCII bytes "123456789" is 0x89a1897f.
  assert.equal(oggCrc(new TextEncoder().encode('123456789')), 0x89a1897f);
});

check('packet durations come from the TOC byte', () => {
  assert.equal(opusPacketSamples(Uint8Array.of(11 << 3)), 2880);       // SILK WB 60 ms
  assert.equal(opusPacketSamples(Uint8Array.of((31 << 3) | 1)), 1920); // CELT FB 20 ms, two frames
  assert.equal(opusPacketSamples(Uint8Array.of((16 << 3) | 3, 3)), 360);
  throwsWith(() => opusPacketSamples(Uint8Array.of((3 << 3) | 3, 3)), 'damaged'); // 3 x 60 ms > 120 ms
  throwsWith(() => opusPacketSamples(new Uint8Array(0)), 'empty');
});

check('a muxed note parses back with its packets, pre-skip and duration', () => {
  const { bytes, pages } = note(3);
  const info = parseOggOpus(bytes);
  assert.equal(info.preSkip, 312);
  assert.equal(info.inputRate, 16000);
  assert.equal(info.packets.length, 50);
  assert.equal(info.packets[3][1], 3);
  // Granules count the pre-skip too: 50 packets of 2880 samples less 312.
  assert.ok(Math.abs(info.durationSeconds - (3.0 - 312 / 48000)) < 1e-6, `duration ${info.durationSeconds}`);
  // OpusHead alone on the first page, OpusTags alone on the second, then pages of about a second.
  assert.equal(pages[0][5], 2);
  assert.equal(pages[pages.length - 1][5], 4);
  assert.ok(pages.length >= 5 && pages.length <= 6, `${pages.length} pages`);
});

check('the end granule trims what the encoder padded', () => {
  const { bytes } = note(1.2, { realSamples: 1.15 * 48000 });
  assert.ok(Math.abs(parseOggOpus(bytes).durationSeconds - 1.15) < 0.001);
  // Trimming never reaches before the last page (the granules stay in order).
  const short = note(1.2, { realSamples: 0.5 * 48000 });
  assert.ok(parseOggOpus(short.bytes).durationSeconds > 1.0);
});

check('a note of nothing is refused', () => {
  const w = new OggOpusWriter({ onPage: () => {} });
  throwsWith(() => w.finish(), 'no audio');
});

check('truncation anywhere is refused', () => {
  const { bytes } = note(2);
  for (const cut of [0, 10, 27, 40, 100, bytes.length - 1]) {
    if (cut === 0) throwsWith(() => parseOggOpus(bytes.subarray(0, 0)), 'truncated');
    else throwsWith(() => parseOggOpus(bytes.subarray(0, cut)), 'truncated|damaged');
  }
});

check('every flipped byte is caught by the page CRC', () => {
  const { bytes } = note(1);
  for (let i = 0; i < bytes.length; i += 7) {
    const bad = bytes.slice();
    bad[i] ^= 0x20;
    let err = null;
    try { parseOggOpus(bad); } catch (e) { err = e; }
    assert.ok(err, `a flip at byte ${i} was accepted`);
  }
});

check('not Ogg, not Opus, stereo, and out-of-order pages are refused', () => {
  throwsWith(() => parseOggOpus(new TextEncoder().encode('RIFF....WAVEfmt ' + 'x'.repeat(40))), 'not an Ogg file');
  const { pages } = note(1);
  // Stereo: rewrite the OpusHead's channel count and its page CRC.
  const head = pages[0].slice();
  head[27 + 1 + 9] = 2;
  head[22] = head[23] = head[24] = head[25] = 0;
  new DataView(head.buffer).setUint32(22, oggCrc(head), true);
  throwsWith(() => parseOggOpus(concat([head, ...pages.slice(1)])), 'mono');
  // Pages swapped: the sequence numbers no longer follow.
  throwsWith(() => parseOggOpus(concat([pages[0], pages[2], pages[1], ...pages.slice(3)])), 'damaged');
  // A stream whose first packet is not OpusHead.
  const vorbis = oggPage({ serial: 1, sequence: 0, granule: 0n, flags: 2,
                           packets: [new TextEncoder().encode('\x01vorbis' + 'x'.repeat(23))] });
  throwsWith(() => parseOggOpus(concat([vorbis, ...pages.slice(1)])), 'not an Opus|mono');
  // Bytes after the end of stream.
  throwsWith(() => parseOggOpus(concat([...pages, pages[2]])), 'after the end');
});

check('more than ten minutes is refused by the muxer', () => {
  const w = new OggOpusWriter({ onPage: () => {} });
  throwsWith(() => { for (let i = 0; i < 10001; i++) w.addPacket(packet(3, 0)); }, 'ten minutes');
});

check('a huge lacing value cannot make the parser read past the bytes', () => {
  const page = new Uint8Array(27 + 255);
  page.set([0x4f, 0x67, 0x67, 0x53]);
  page[5] = 2;
  page[26] = 255;
  page.fill(255, 27);
  throwsWith(() => parseOggOpus(page), 'truncated');
});

const cNote = process.argv[2];
if (cNote) {
  check('a note from the C encoder (3.3 s of input) parses with its length', () => {
    const info = parseOggOpus(new Uint8Array(readFileSync(cNote)));
    const expected = Number(process.argv[3]);
    assert.ok(info.packets.length > 10);
    assert.ok(Math.abs(info.durationSeconds - expected) < 0.001, `${info.durationSeconds} vs ${expected}`);
  });
}

if (failures) { console.log(`${failures} failed`); process.exit(1); }
