// The page at 360x640 and at 240x320 (a keypad phone), in Chinese and in
// English: screenshots kept as artefacts, an axe-core audit with no
// violations, targets of at least 60x60 px and text of at least 18 px, the
// page usable with arrow keys and Enter alone, the relay's headers (strict
// CSP, caching, gzip) and a wrong code answered with one sentence.
import { main, startRelay, startBrowser, newPage, axeSource, ARTEFACTS, fail, until } from './web_lib.mjs';
import { join } from 'node:path';

main(async () => {
  const relay = await startRelay();

  // The relay's answers for the page.
  const index = await fetch(relay.url + '/', { headers: { 'Accept-Encoding': 'gzip' } });
  const csp = index.headers.get('content-security-policy') || '';
  if (!/script-src 'self'/.test(csp) || /unsafe-inline|unsafe-eval/.test(csp)) fail(`weak CSP: ${csp}`);
  if (index.headers.get('cache-control') !== 'no-cache') fail('index.html must be revalidated');
  const html = await index.text();
  const asset = /src="(\/assets\/app\.[0-9a-f]{12}\.js)"/.exec(html);
  if (!asset) fail('index.html names no fingerprinted script');
  const js = await fetch(relay.url + asset[1], { headers: { 'Accept-Encoding': 'gzip' } });
  if (!/immutable/.test(js.headers.get('cache-control') || '')) fail('a fingerprinted asset is not cached for long');
  if (js.headers.get('content-encoding') !== 'gzip') fail('the script is not served compressed');
  if ((await fetch(relay.url + '/assets/../../relay.db')).status !== 404) fail('a path outside the page was served');
  if ((await fetch(relay.url + '/sw.js', { method: 'POST' })).status !== 405) fail('POST on a page file was not 405');

  const browser = await startBrowser();
  for (const lang of ['zh-CN', 'en-US']) {
    for (const [width, height] of [[360, 640], [240, 320]]) {
      const { context, page } = await newPage(browser, relay.url + '/', { width, height, lang, bypassCSP: true });
      await page.waitForSelector('#code');
      const shot = join(ARTEFACTS, `join-${lang}-${width}x${height}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      // Accessibility audit (axe-core, WCAG 2 A and AA rules).
      await page.addScriptTag({ content: axeSource });
      const violations = await page.evaluate(async () =>
        (await window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'best-practice'] })).violations
          .map((v) => `${v.id}: ${v.nodes.length}`));
      if (violations.length) fail(`axe at ${width}x${height} ${lang}: ${violations.join(', ')}`);
      const small = await page.evaluate(() => {
        const bad = [];
        for (const e of document.querySelectorAll('button, input')) {
          const r = e.getBoundingClientRect();
          if (r.width < 60 || r.height < 60) bad.push(`${e.id || e.tagName} ${r.width}x${r.height}`);
        }
        for (const e of document.querySelectorAll('p, label, button, input, li, h1, h2')) {
          if (parseFloat(getComputedStyle(e).fontSize) < 18) bad.push(`${e.id || e.tagName} text`);
        }
        return bad;
      });
      if (small.length) fail(`too small at ${width}x${height}: ${small.join(', ')}`);
      const heading = await page.textContent('h1');
      if (lang === 'zh-CN' ? !/加入/.test(heading) : !/Join/.test(heading)) fail(`heading in the wrong language: ${heading}`);
      await context.close();
    }
  }

  // Keys only, as on a keypad phone: arrows move, digits type, Enter joins.
  const { page } = await newPage(browser, relay.url + '/', { width: 240, height: 320 });
  await page.waitForSelector('#code');
  await page.keyboard.type('1234567890');
  await page.keyboard.press('ArrowDown');
  if (await page.evaluate(() => document.activeElement.id) !== 'name') fail('ArrowDown did not reach the name');
  await page.keyboard.type('Baba');
  await page.keyboard.press('Enter');
  // No pairing waits under 1234 on this relay: one sentence, nothing kept.
  const said = await until('the refusal', async () => {
    const s = await page.textContent('#status');
    return /not right|used already|expired/.test(s) && s;
  });
  if (said.split(/[.!?。]/).filter((x) => x.trim()).length > 2) fail(`more than one sentence: ${said}`);
  if (await page.evaluate(() => new Promise((r) => { const q = indexedDB.open('jiashu'); q.onsuccess = () => q.result.transaction('kv').objectStore('kv').get('identity').onsuccess = (e) => r(!!e.target.result); })))
    fail('a refused join kept an identity');
  await page.screenshot({ path: join(ARTEFACTS, 'join-refused-240x320.png') });
});
