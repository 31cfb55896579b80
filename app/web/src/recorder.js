// Recording in the page: the microphone through WebCodecs' Opus encoder
// (mono, 60 ms frames, the project's default 16 kbit/s, complexity 10, a
// voice signal), muxed into Ogg in the page by ogg.js. Every page of the
// note goes to IndexedDB the moment it is made, so a recording cut by a
// closed tab or a locked phone keeps all but its last second.
//
// The capture asks the browser for echo cancellation, noise suppression and
// automatic gain: the project's own clean-up (codec/cleanup.c) removes DC,
// evens out loudness and suppresses steady noise, and a phone's speaker
// next to its microphone needs the echo canceller the C client never does.
import { OggOpusWriter } from './ogg.js';

export const BITRATE = 16000;        // codec/codec.h JC_DEFAULT_BITRATE
export const FRAME_US = 60000;
const OPUS_RATE = 48000;

export function recordingSupported() {
  return typeof AudioEncoder !== 'undefined' && !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

export class Recorder {
  // onPage(seq, bytes): a finished Ogg page; onLevel(0..1): the meter.
  constructor({ onPage, onLevel }) {
    this.onPage = onPage;
    this.onLevel = onLevel || (() => {});
    this.seq = 0;
    this.samples = 0;       // at the capture rate
    this.rate = 48000;
    this.writer = null;
    this.pending = [];      // packets that came before the writer existed
    this.error = null;
  }

  async start() {
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
    const settings = this.stream.getAudioTracks()[0].getSettings();
    this.ctx = new AudioContext(settings.sampleRate ? { sampleRate: settings.sampleRate } : undefined);
    this.rate = this.ctx.sampleRate;
    const src = this.ctx.createMediaStreamSource(this.stream);
    this.encoder = new AudioEncoder({
      output: (chunk, meta) => this.packet(chunk, meta),
      error: (e) => { this.error = e; },
    });
    this.encoder.configure({ codec: 'opus', sampleRate: this.rate, numberOfChannels: 1, bitrate: BITRATE,
                             opus: { format: 'opus', frameDuration: FRAME_US, complexity: 10, signal: 'voice',
                                     application: 'voip' } });
    if (typeof MediaStreamTrackProcessor !== 'undefined') {
      // Chromium hands the track's frames over as they come, queued: a busy
      // phone delays them but drops none.
      const track = this.stream.getAudioTracks()[0];
      this.reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
      this.pump = this.readFrames();
    } else {
      // Elsewhere a ScriptProcessor, in every browser that has WebCodecs;
      // its buffer of 4096 samples is under 0.1 s at 48 kHz.
      this.node = this.ctx.createScriptProcessor(4096, 1, 1);
      this.node.onaudioprocess = (ev) => this.feed(ev.inputBuffer.getChannelData(0));
      src.connect(this.node);
      this.node.connect(this.ctx.destination); // a processor runs only while connected
    }
    this.started = performance.now();
  }

  async readFrames() {
    for (;;) {
      const { value: frame, done } = await this.reader.read();
      if (done) return;
      const n = frame.numberOfFrames;
      const mono = new Float32Array(n);
      frame.copyTo(mono, { planeIndex: 0, format: 'f32-planar' });
      frame.close();
      this.feed(mono);
    }
  }

  feed(input) {
    if (!this.encoder || this.encoder.state !== 'configured') return;
    const data = new Float32Array(input);
    let sum = 0;
    for (let i = 0; i < data.length; i++) sum += data[i] * data[i];
    this.onLevel(Math.min(1, Math.sqrt(sum / data.length) * 4));
    const ad = new AudioData({ format: 'f32-planar', sampleRate: this.rate, numberOfFrames: data.length,
                               numberOfChannels: 1, timestamp: Math.round(this.samples * 1e6 / this.rate), data });
    this.samples += data.length;
    this.encoder.encode(ad);
    ad.close();
  }

  packet(chunk, meta) {
    if (!this.writer) {
      let preSkip = 312; // libopus's look-ahead at 48 kHz when the encoder does not say
      const desc = meta && meta.decoderConfig && meta.decoderConfig.description;
      if (desc && desc.byteLength >= 19) {
        const d = new Uint8Array(desc instanceof ArrayBuffer ? desc : desc.buffer, desc.byteOffset || 0, desc.byteLength);
        if (String.fromCharCode(...d.subarray(0, 8)) === 'OpusHead') preSkip = d[10] | (d[11] << 8);
      }
      this.writer = new OggOpusWriter({ preSkip, inputRate: this.rate, vendor: 'jiashu web',
                                        onPage: (bytes) => this.onPage(this.seq++, bytes) });
    }
    const bytes = new Uint8Array(chunk.byteLength);
    chunk.copyTo(bytes);
    this.writer.addPacket(bytes);
  }

  get seconds() { return this.samples / this.rate; }

  // Stops the microphone, lets the encoder out what it holds, and ends the
  // Ogg stream with the true length. Returns the duration in ms.
  async stop() {
    if (this.node) { this.node.disconnect(); this.node.onaudioprocess = null; }
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    // A stopped track closes the stream after the frames already queued:
    // wait for them (a busy phone may be behind), but not for ever.
    if (this.reader) {
      const late = setTimeout(() => this.reader.cancel().catch(() => {}), 3000);
      await this.pump;
      clearTimeout(late);
    }
    if (this.encoder && this.encoder.state === 'configured') await this.encoder.flush();
    if (this.encoder && this.encoder.state !== 'closed') this.encoder.close();
    if (this.ctx) await this.ctx.close();
    if (this.error) throw this.error;
    if (!this.writer) throw new Error('nothing was recorded');
    this.writer.finish(this.samples * OPUS_RATE / this.rate);
    return Math.round(this.samples * 1000 / this.rate);
  }
}
