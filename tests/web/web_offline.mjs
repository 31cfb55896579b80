// Offline first: the page loses the relay, records two letters, is reloaded
// with the relay still down (its Service Worker serves it), then the relay
// comes back and both letters arrive exactly once.
import { main, startRelay, startBrowser, pairPage, recordAndSend, speechWav, cInbox, jiashu, scratch, fail, until,
         ARTEFACTS } from './web_lib.mjs';
import { join } from 'node:path';

main(async () => {
  let relay = await startRelay();
  const nainai = join(scratch, 'nainai');
  const browser = await startBrowser({ wav: speechWav(join(scratch, 'mic.wav'), 30) });
  const { page } = await pairPage(browser, relay, nainai);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await until('the Service Worker to control the page', () => page.evaluate(() => !!navigator.serviceWorker.controller)
    .then(async (c) => { if (!c) await page.reload(); return c; }), 30000, 1000);
  await page.waitForSelector('#record');

  await relay.stop();
  const a = await recordAndSend(page, 2);
  const b = await recordAndSend(page, 3);
  await until('both letters waiting to send', async () =>
    (await page.$$eval('#outbox li', (l) => l.filter((x) => x.dataset.state === 'queued').length)) === 2);

  await page.reload();
  await page.waitForSelector('#record', { timeout: 15000 });
  const waiting = await page.$$eval('#outbox li', (l) => l.map((x) => `${x.dataset.id}:${x.dataset.state}`));
  if (!waiting.includes(`${a}:queued`) || !waiting.includes(`${b}:queued`))
    fail(`after a reload with no relay the outbox shows ${waiting.join(' ')}`);
  await page.screenshot({ path: join(ARTEFACTS, 'offline-reloaded-360x640.png'), fullPage: true });

  relay = await startRelay(relay.db, relay.port);
  await until('both letters sent', async () =>
    (await page.$$eval('#outbox li', (l) => l.filter((x) => x.dataset.state === 'sent').length)) === 2, 90000, 500);
  jiashu(nainai, 'sync');
  const ids = cInbox(nainai).map((m) => m.id || m.message_id).sort();
  if (ids.length !== 2 || !ids.includes(a) || !ids.includes(b)) fail(`the grandmother received ${ids.join(' ')}`);
});
