// A 60 s letter whose upload loses the relay half way: the relay is killed
// (SIGKILL) while the page uploads it, and started again; the letter
// arrives once, whole, and plays back at its length.
import { main, startRelay, startBrowser, pairPage, recordAndSend, speechWav, cInbox, jiashu, scratch, fail, until,
         readWav } from './web_lib.mjs';
import { join } from 'node:path';

main(async () => {
  let relay = await startRelay();
  const nainai = join(scratch, 'nainai');
  const browser = await startBrowser({ wav: speechWav(join(scratch, 'mic.wav'), 75) });
  const { page } = await pairPage(browser, relay, nainai);

  // The second PATCH of the upload meets a dead relay: the first chunk is
  // acknowledged, the rest must resume at the relay's offset.
  let patches = 0, killed = false;
  await page.route('**/v1/uploads/**', async (route) => {
    if (route.request().method() === 'PATCH' && ++patches === 2 && !killed) {
      killed = true;
      await relay.kill();
    }
    await route.continue().catch(() => {});
  });
  const id = await recordAndSend(page, 60);
  await until('the relay to be killed mid-upload', async () => killed, 60000);
  relay = await startRelay(relay.db, relay.port);
  await until('the letter sent', () => page.$(`#outbox li[data-id="${id}"][data-state="sent"]`), 120000, 500);
  if (patches < 3) fail(`only ${patches} PATCHes: the upload did not resume`);

  jiashu(nainai, 'sync');
  const got = cInbox(nainai);
  if (got.length !== 1 || (got[0].id || got[0].message_id) !== id) fail(`received ${JSON.stringify(got)}`);
  jiashu(nainai, 'export', id, join(scratch, 'n.opus'));
  jiashu(nainai, 'decode', join(scratch, 'n.opus'), join(scratch, 'n.wav'));
  const w = readWav(join(scratch, 'n.wav'));
  const seconds = w.samples.length / w.rate;
  if (seconds < 59 || seconds > 61.5) fail(`the letter decodes to ${seconds} s, not 60 s`);
});
