// Ogg Opus voice notes in the page (RFC 3533 pages, RFC 7845 Opus mapping).
// The muxer turns raw Opus packets from the encoder into the same kind of
// file the C codec writes: mono, OpusHead + OpusTags, then audio pages of
// at most about a second, so a page closed in the middle of a recording
// loses at most the last second. The parser checks everything a hostile or
// damaged file could get wrong and throws one clear Error; it never trusts
// a length it has not checked against the bytes it holds.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

export function oggCrc(bytes) {
  let crc = 0;
  for (let i = 0; i < bytes.length; i++)
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ bytes[i]) & 0xff]) >>> 0;
  return crc >>> 0;
}

const FLAG_CONTINUED = 1, FLAG_BOS = 2, FLAG_EOS = 4;
// 48 kHz samples in one second: Opus granule positions count at 48 kHz.
const OPUS_RATE = 48000;
// Longest packet Opus may produce: 120 ms.
const MAX_PACKET_SAMPLES = 5760;
// The longest note anyone may send (codec/codec.h JC_MAX_NOTE_SECONDS).
export const MAX_NOTE_SECONDS = 600;

// One Ogg page from whole packets (each at most 255*255 bytes here, far
// above any Opus packet). granule is a BigInt.
export function oggPage({ serial, sequence, granule, flags, packets }) {
  const lacing = [];
  let bodyLen = 0;
  for (const p of packets) {
    let n = p.length;
    while (n >= 255) { lacing.push(255); n -= 255; }
    lacing.push(n);
    bodyLen += p.length;
  }
  if (lacing.length > 255) throw new Error('too many packets for one Ogg page');
  const page = new Uint8Array(27 + lacing.length + bodyLen);
  const dv = new DataView(page.buffer);
  page.set([0x4f, 0x67, 0x67, 0x53], 0); // "OggS"
  page[4] = 0;
  page[5] = flags;
  dv.setBigUint64(6, granule, true);
  dv.setUint32(14, serial >>> 0, true);
  dv.setUint32(18, sequence >>> 0, true);
  dv.setUint32(22, 0, true);
  page[26] = lacing.length;
  page.set(lacing, 27);
  let at = 27 + lacing.length;
  for (const p of packets) { page.set(p, at); at += p.length; }
  dv.setUint32(22, oggCrc(page), true);
  return page;
}

export function opusHead({ preSkip, inputRate }) {
  const h = new Uint8Array(19);
  const dv = new DataView(h.buffer);
  h.set([0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64], 0); // "OpusHead"
  h[8] = 1;            // version
  h[9] = 1;            // mono
  dv.setUint16(10, preSkip, true);
  dv.setUint32(12, inputRate, true);
  dv.setInt16(16, 0, true); // output gain
  h[18] = 0;           // mapping family 0
  return h;
}

export function opusTags(vendor) {
  const v = new TextEncoder().encode(vendor);
  const t = new Uint8Array(8 + 4 + v.length + 4);
  const dv = new DataView(t.buffer);
  t.set([0x4f, 0x70, 0x75, 0x73, 0x54, 0x61, 0x67, 0x73], 0); // "OpusTags"
  dv.setUint32(8, v.length, true);
  t.set(v, 12);
  dv.setUint32(12 + v.length, 0, true);
  return t;
}

// Samples (at 48 kHz) in one Opus packet, from its TOC byte (RFC 6716 3.1).
export function opusPacketSamples(packet) {
  if (packet.length < 1) throw new Error('an empty Opus packet');
  const toc = packet[0];
  const config = toc >> 3;
  let frame;
  if (config < 12) frame = [480, 960, 1920, 2880][config & 3];
  else if (config < 16) frame = [480, 960][config & 1];
  else frame = [120, 240, 480, 960][config & 3];
  let frames;
  switch (toc & 3) {
    case 0: frames = 1; break;
    case 1: case 2: frames = 2; break;
    default:
      if (packet.length < 2) throw new Error('a damaged Opus packet');
      frames = packet[1] & 0x3f;
  }
  const samples = frame * frames;
  if (frames === 0 || samples > MAX_PACKET_SAMPLES) throw new Error('a damaged Opus packet');
  return samples;
}

// Writes a voice note page by page. onPage(bytes) receives every page in
// order (the caller keeps them: IndexedDB, an upload). A page is closed once
// it holds maxPageMs of audio, so little is lost if the page is closed.
export class OggOpusWriter {
  constructor({ preSkip = 312, inputRate = 48000, vendor = 'jiashu web', maxPageMs = 1000,
                serial = (Math.random() * 0x100000000) >>> 0, onPage }) {
    this.serial = serial;
    this.sequence = 0;
    this.preSkip = preSkip;
    // Granules count every decoded sample, the pre-skip included (RFC 7845 4).
    this.granule = 0n;
    this.pending = [];
    this.pendingSamples = 0;
    this.maxPageSamples = Math.max(3 * 2880, Math.round(maxPageMs * OPUS_RATE / 1000));
    this.samples = 0;
    this.onPage = onPage;
    this.finished = false;
    this.emit(FLAG_BOS, 0n, [opusHead({ preSkip, inputRate })]);
    this.emit(0, 0n, [opusTags(vendor)]);
  }

  emit(flags, granule, packets) {
    this.emittedGranule = granule;
    this.onPage(oggPage({ serial: this.serial, sequence: this.sequence++, granule, flags, packets }));
  }

  addPacket(packet) {
    if (this.finished) throw new Error('the note is already finished');
    const n = opusPacketSamples(packet);
    if (this.samples + n > MAX_NOTE_SECONDS * OPUS_RATE) throw new Error('the note is longer than ten minutes');
    this.pending.push(packet);
    this.pendingSamples += n;
    this.samples += n;
    this.granule += BigInt(n);
    if (this.pendingSamples >= this.maxPageSamples || this.pending.length >= 200) this.flush(0);
  }

  flush(flags) {
    if (!this.pending.length && !(flags & FLAG_EOS)) return;
    this.emit(flags, this.granule, this.pending);
    this.pending = [];
    this.pendingSamples = 0;
  }

  // Ends the stream. Trailing samples the encoder padded are cut by the
  // end granule: it says how many samples the note really holds.
  finish(realSamples48) {
    if (this.finished) return;
    if (this.samples === 0) throw new Error('the note holds no audio');
    if (realSamples48 !== undefined) {
      // The last page may not end before the page ahead of it (RFC 7845
      // 4.5), so trimming reaches into the last page only.
      let end = BigInt(this.preSkip + Math.max(1, Math.round(realSamples48)));
      if (end <= this.emittedGranule) end = this.emittedGranule + 1n;
      if (end < this.granule) this.granule = end;
    }
    this.flush(FLAG_EOS);
    this.finished = true;
  }
}

// Parses and checks a whole Ogg Opus voice note: every page's CRC, one
// mono Opus stream, sane granules. Returns { preSkip, inputRate, packets,
// durationSeconds }. Throws Error with a sentence a person can read.
export function parseOggOpus(bytes) {
  if (!(bytes instanceof Uint8Array)) throw new Error('not bytes');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const packets = [];
  let at = 0, serial = null, expectSeq = 0, partial = [], lastGranule = -1n, sawEos = false;
  while (at < bytes.length) {
    if (sawEos) throw new Error('bytes after the end of the voice note');
    if (bytes.length - at < 27) throw new Error('the voice note is truncated');
    if (bytes[at] !== 0x4f || bytes[at + 1] !== 0x67 || bytes[at + 2] !== 0x67 || bytes[at + 3] !== 0x53)
      throw new Error(at === 0 ? 'not an Ogg file' : 'the voice note is damaged');
    if (bytes[at + 4] !== 0) throw new Error('the voice note is damaged');
    const flags = bytes[at + 5];
    const granule = dv.getBigInt64(at + 6, true);
    const pageSerial = dv.getUint32(at + 14, true);
    const seq = dv.getUint32(at + 18, true);
    const crc = dv.getUint32(at + 22, true);
    const nseg = bytes[at + 26];
    if (bytes.length - at < 27 + nseg) throw new Error('the voice note is truncated');
    let bodyLen = 0;
    for (let i = 0; i < nseg; i++) bodyLen += bytes[at + 27 + i];
    const pageLen = 27 + nseg + bodyLen;
    if (bytes.length - at < pageLen) throw new Error('the voice note is truncated');
    const page = bytes.slice(at, at + pageLen);
    page[22] = page[23] = page[24] = page[25] = 0;
    if (oggCrc(page) !== crc) throw new Error('the voice note is damaged');
    if (serial === null) {
      if (!(flags & FLAG_BOS)) throw new Error('not an Opus voice note (Ogg, but no Opus stream)');
      serial = pageSerial;
    } else if (pageSerial !== serial) {
      throw new Error('not a mono voice note');
    } else if (flags & FLAG_BOS) {
      throw new Error('the voice note is damaged');
    }
    if (seq !== expectSeq) throw new Error('the voice note is damaged');
    expectSeq++;
    if ((flags & FLAG_CONTINUED) && !partial.length) throw new Error('the voice note is damaged');
    if (!(flags & FLAG_CONTINUED) && partial.length) throw new Error('the voice note is damaged');
    let body = at + 27 + nseg;
    let completed = false;
    for (let i = 0; i < nseg; i++) {
      const len = bytes[at + 27 + i];
      partial.push(bytes.subarray(body, body + len));
      body += len;
      if (len < 255) {
        let n = 0;
        for (const p of partial) n += p.length;
        const pkt = new Uint8Array(n);
        let o = 0;
        for (const p of partial) { pkt.set(p, o); o += p.length; }
        packets.push(pkt);
        partial = [];
        completed = true;
      }
    }
    if (granule !== -1n) {
      if (granule < 0n || (lastGranule >= 0n && granule < lastGranule))
        throw new Error("the voice note's timing is impossible");
      if (completed) lastGranule = granule;
    }
    if (flags & FLAG_EOS) sawEos = true;
    at += pageLen;
  }
  if (partial.length) throw new Error('the voice note is truncated');
  if (packets.length < 2) throw new Error('the voice note is truncated');
  const head = packets[0];
  const tag = (p, s) => p.length >= 8 && String.fromCharCode(...p.subarray(0, 8)) === s;
  if (!tag(head, 'OpusHead') || head.length < 19) throw new Error('not an Opus voice note (Ogg, but no Opus stream)');
  if (head[8] >> 4 !== 0) throw new Error('not an Opus voice note (Ogg, but no Opus stream)');
  if (head[9] !== 1) throw new Error('not a mono voice note');
  if (!tag(packets[1], 'OpusTags')) throw new Error('not an Opus voice note (Ogg, but no Opus stream)');
  const hv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const preSkip = hv.getUint16(10, true);
  const inputRate = hv.getUint32(12, true);
  const audio = packets.slice(2);
  if (!audio.length) throw new Error('the voice note holds no audio');
  let samples = 0;
  for (const p of audio) samples += opusPacketSamples(p);
  if (samples > MAX_NOTE_SECONDS * OPUS_RATE + preSkip + MAX_PACKET_SAMPLES)
    throw new Error('the voice note is longer than the limit of 10 minutes');
  if (lastGranule < 0n || lastGranule > BigInt(samples) || lastGranule <= BigInt(preSkip))
    throw new Error("the voice note's timing is impossible");
  return { preSkip, inputRate, packets: audio,
           durationSeconds: Number(lastGranule - BigInt(preSkip)) / OPUS_RATE };
}
