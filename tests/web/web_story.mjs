// The whole story across the two kinds of client: a grandmother's C client
// makes the family and an invite; the page joins with the code, records 10 s
// from a fake microphone speaking Mandarin, and sends; the C client syncs, and
// the note validates, decodes to within 60 ms of the recording's length and
// follows the fed speech; the C client replies; the page plays the reply
// (what reaches the page's audio output is compared with the decoded reply)
// and the C client sees it played.
import { main, startRelay, startBrowser, newPage, jiashu, speechWav, readWav, envelope, bestCorrelation,
         scratch, fail, until, recordFor, ARTEFACTS } from './web_lib.mjs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

// Circular correlation of env against a looped source envelope.
function loopCorrelation(env, src) {
  let best = -1;
  const n = env.length;
  const me = env.reduce((a, b) => a + b, 0) / n;
  for (let lag = 0; lag < src.length; lag++) {
    let ms = 0;
    for (let i = 0; i < n; i++) ms += src[(i + lag) % src.length];
    ms /= n;
    let c = 0, va = 0, vb = 0;
    for (let i = 0; i < n; i++) {
      const a = env[i] - me, b = src[(i + lag) % src.length] - ms;
      c += a * b; va += a * a; vb += b * b;
    }
    best = Math.max(best, c / Math.sqrt(va * vb + 1e-12));
  }
  return best;
}

main(async () => {
  const relay = await startRelay();
  const nainai = join(scratch, 'nainai');
  jiashu(nainai, 'setup', '--relay', relay.url, '--name', '奶奶');
  jiashu(nainai, 'family', 'create');
  const invite = jiashu(nainai, 'family', 'invite');
  const code = (/(\d{10})/.exec(invite.replace(/[\s-]/g, '')) || [])[1];
  if (!code) fail(`no code in: ${invite}`);

  // The fake microphone: Mandarin speech, looped by Chromium.
  const mic = speechWav(join(scratch, 'mic.wav'), 30);
  const browser = await startBrowser({ wav: mic, lang: 'zh-CN' });
  const { page } = await newPage(browser, relay.url + '/', { lang: 'zh-CN' });
  await page.fill('#code', code);
  await page.fill('#name', 'Mama');
  await page.click('#join');
  await page.waitForSelector('#waiting');
  // The grandmother's next sync confirms the pairing.
  await until('the pairing to finish', async () => {
    jiashu(nainai, 'sync');
    return page.$('#record');
  }, 60000, 1000);

  // Record 10 s, listen is offered, send.
  await recordFor(page, 10);
  await page.waitForSelector('#send');
  await page.click('#send');
  await until('the note to be sent', async () => {
    const li = await page.$('#outbox li[data-state="sent"]');
    return li;
  }, 60000);
  const recordedMs = await page.evaluate(() => new Promise((r) => {
    const q = indexedDB.open('jiashu');
    q.onsuccess = () => q.result.transaction('outbox').objectStore('outbox').getAll().onsuccess = (e) => r(e.target.result[0].durationMs);
  }));
  if (recordedMs < 9900 || recordedMs > 11000) fail(`the page recorded ${recordedMs} ms, not about 10 s`);

  // The C client gets it: valid, the right length, the fed speech.
  jiashu(nainai, 'sync');
  const inbox = JSON.parse(jiashu(nainai, 'inbox', '--json'));
  const list = Array.isArray(inbox) ? inbox : inbox.messages;
  if (!list || list.length !== 1) fail(`the C inbox holds ${JSON.stringify(inbox)}`);
  const id = list[0].id || list[0].message_id;
  const note = join(scratch, 'note.opus'), pcm = join(scratch, 'note.wav');
  jiashu(nainai, 'export', id, note);
  jiashu(nainai, 'decode', note, pcm);
  const got = readWav(pcm);
  const gotMs = (got.samples.length / got.rate) * 1000;
  if (Math.abs(gotMs - recordedMs) > 60) fail(`decoded ${gotMs} ms, recorded ${recordedMs} ms`);
  const src = readWav(mic);
  // Two-second pieces, each matched on its own: a busy machine may drop or
  // delay some of the fake microphone's sound, which shifts what follows.
  const gotEnv = envelope(got.samples, got.rate), srcEnv = envelope(src.samples, src.rate);
  const pieces = [];
  for (let i = 0; i + 100 <= gotEnv.length; i += 100) pieces.push(loopCorrelation(gotEnv.slice(i, i + 100), srcEnv));
  pieces.sort((a, b) => a - b);
  const corr = pieces[Math.floor(pieces.length / 2)];
  console.log(`page note: ${recordedMs} ms recorded, ${gotMs.toFixed(1)} ms decoded, median envelope correlation of 2 s pieces ${corr.toFixed(3)}`);
  if (corr < 0.6) fail(`the decoded note does not follow the fed speech (correlation ${corr})`);

  // The page learns that the grandmother has it from its one long poll:
  // the receipt rides on the inbox answer, which it also ends.
  await until('the delivered mark on the page', async () =>
    /已收到/.test(await page.$eval('#outbox li .what', (e) => e.textContent)), 30000);

  // The grandmother replies; the page plays it; what it played is the reply.
  const reply = join(scratch, 'reply.wav');
  execFileSync('espeak-ng', ['-v', 'cmn', '-w', reply, '好孩子，奶奶也想你。']);
  jiashu(nainai, 'record', '--to', 'Mama', '--input', reply);
  jiashu(nainai, 'sync');
  await page.evaluate(() => {
    // Taps what the page's <audio> plays, as the speaker would hear it.
    window.__heard = [];
    const orig = HTMLMediaElement.prototype.play;
    HTMLMediaElement.prototype.play = function () {
      if (!this.__tapped) {
        this.__tapped = true;
        const ctx = new AudioContext();
        window.__rate = ctx.sampleRate;
        const src = ctx.createMediaElementSource(this);
        const tap = ctx.createScriptProcessor(4096, 1, 1);
        tap.onaudioprocess = (ev) => { window.__heard.push(Array.from(ev.inputBuffer.getChannelData(0))); };
        src.connect(tap); tap.connect(ctx.destination); src.connect(ctx.destination);
      }
      return orig.call(this);
    };
  });
  const play = await until('the reply to reach the page', () => page.$('#inbox button.play'), 60000);
  await play.click();
  await until('the reply to be played through', () => page.evaluate(() => {
    const a = document.querySelector('#player');
    return a && a.ended;
  }), 60000);
  const heard = await page.evaluate(() => ({ rate: window.__rate, samples: window.__heard.flat() }));
  const replyOut = join(scratch, 'reply-c.wav');
  const replyId = JSON.parse(jiashu(nainai, 'outbox', '--json'));
  const mine = (Array.isArray(replyId) ? replyId : replyId.messages).find((m) => !m.id?.startsWith(id) && m.id !== id);
  jiashu(nainai, 'export', mine.id || mine.message_id, join(scratch, 'reply.opus'));
  jiashu(nainai, 'decode', join(scratch, 'reply.opus'), replyOut);
  const want = readWav(replyOut);
  const c2 = bestCorrelation(envelope(Float32Array.from(heard.samples), heard.rate), envelope(want.samples, want.rate), 150);
  console.log(`reply at the page's output: envelope correlation ${c2.toFixed(3)}`);
  if (c2 < 0.8) fail(`what the page played is not the reply (correlation ${c2})`);
  await page.screenshot({ path: join(ARTEFACTS, 'story-home-zh-CN-360x640.png'), fullPage: true });

  // The grandmother sees it heard.
  await until('the played mark at the C client', async () => {
    jiashu(nainai, 'sync');
    return /played/.test(jiashu(nainai, 'outbox', '--json'));
  }, 30000, 1000);
});
