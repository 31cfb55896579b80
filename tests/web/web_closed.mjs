// A recording survives the page being closed: the tab is closed four
// seconds into a recording; the next visit offers what was recorded for
// listening (never sends it unasked), and once sent it arrives whole.
import { main, startRelay, startBrowser, pairPage, speechWav, cInbox, jiashu, scratch, fail, until,
         readWav } from './web_lib.mjs';
import { join } from 'node:path';

main(async () => {
  const relay = await startRelay();
  const nainai = join(scratch, 'nainai');
  const browser = await startBrowser({ wav: speechWav(join(scratch, 'mic.wav'), 30) });
  const { page, context } = await pairPage(browser, relay, nainai);
  await page.click('#record');
  await until('4 s recorded', async () => Number(await page.getAttribute('#timer', 'data-seconds') || 0) >= 4, 60000, 100);
  await page.close({ runBeforeUnload: false });

  const again = await context.newPage();
  await again.goto(relay.url + '/');
  await again.waitForSelector('#send', { timeout: 15000 });
  if (await again.$('#outbox li')) fail('the cut recording was queued before the person chose to send it');
  jiashu(nainai, 'sync');
  if (cInbox(nainai).length) fail('the cut recording reached the family unasked');
  await again.click('#send');
  await until('the recording sent', () => again.$('#outbox li[data-state="sent"]'), 60000);
  jiashu(nainai, 'sync');
  const got = cInbox(nainai);
  if (got.length !== 1) fail(`received ${got.length} letters`);
  const id = got[0].id || got[0].message_id;
  jiashu(nainai, 'export', id, join(scratch, 'n.opus'));
  jiashu(nainai, 'decode', join(scratch, 'n.opus'), join(scratch, 'n.wav'));
  const w = readWav(join(scratch, 'n.wav'));
  const seconds = w.samples.length / w.rate;
  // Four seconds were spoken; at most the last page (about a second) is lost.
  if (seconds < 2.5 || seconds > 4.5) fail(`the kept recording lasts ${seconds} s`);
});
