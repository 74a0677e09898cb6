// The web app in a real browser, as a reader uses it: Debian's Chromium driven by
// playwright-core, every page checked by axe-core. Run by the Rust test `browser` (tests/e2e),
// which starts the system, loads the demo and passes where things are:
//   BASE_URL     the gateway, e.g. http://127.0.0.1:8080
//   BOOK_ID      the seed book's id
//   HOSTILE_BOOK_ID  a book whose title, subtitle, description, author, reviewer's name and
//                review are hostile text
//   HOSTILE      that review's body (and the book's description), to be shown as typed
//   CHROMIUM     the browser's executable (deploy/local/install-browser.sh prints it)
//   SCREENSHOTS  the folder each page's screenshot is saved in
// Prints one line per check; exits 1 after the first failure, naming it.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';

const { BASE_URL, BOOK_ID, HOSTILE_BOOK_ID, HOSTILE, CHROMIUM, SCREENSHOTS } = process.env;
for (const [name, value] of Object.entries({ BASE_URL, BOOK_ID, HOSTILE_BOOK_ID, HOSTILE, CHROMIUM, SCREENSHOTS })) {
  if (!value) throw new Error(`set ${name}`);
}
mkdirSync(SCREENSHOTS, { recursive: true });

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? 'ok' : 'FAILED'}: ${what}`);
  if (!ok) failures.push(what);
};

/** A fresh browser profile; `script` false reads the pages as a crawler or a reader without JS. */
async function open(path, { width = 1280, script = true } = {}) {
  const context = await browser.newContext({ viewport: { width, height: 900 }, javaScriptEnabled: script });
  const page = await context.newPage();
  const problems = [];
  page.on('dialog', async (dialog) => { problems.push(`a dialog opened: ${dialog.message()}`); await dialog.dismiss(); });
  page.on('pageerror', (err) => problems.push(`a script failed: ${err.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  const response = await page.goto(`${BASE_URL}${path}`);
  return { context, page, response, problems };
}

/** No serious or critical axe-core violation. */
async function accessible(page, name) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of bad) console.log(`  ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`);
  check(bad.length === 0, `${name}: no serious or critical axe-core violation`);
}

const bookPath = `/books/${BOOK_ID}`;

// The book page without JavaScript: everything public is there, spoilers fold and unfold.
{
  const { context, page, response, problems } = await open(bookPath, { script: false });
  check(response.status() === 200, 'the book page answers 200');
  check((await page.title()).startsWith('Moscow 1956: The Silenced Spring'), 'its title names the book');
  check(await page.getByRole('heading', { level: 1, name: /Moscow 1956/ }).isVisible(), 'the book is the page heading');
  const summary = await page.locator('.rating-summary').innerText();
  check(/4\.12/.test(summary) && /33 ratings/.test(summary) && /11 reviews/.test(summary), `the rating summary reads "${summary.replace(/\s+/g, ' ')}"`);
  const histogram = await page.locator('.histogram').innerText();
  for (const line of ['11 (33%)', '16 (48%)', '5 (15%)', '1 (3%)', '0 (0%)']) {
    check(histogram.includes(line), `the histogram shows ${line}`);
  }
  const shelves = await page.locator('.shelf-counts').innerText();
  check(/6\s+people are currently reading/.test(shelves) && /141\s+people want to read/.test(shelves), 'the shelf counts are shown');
  const spoiler = page.locator('details.spoiler').first();
  check(await spoiler.count() === 1, 'one review is folded for its spoilers');
  check(!(await spoiler.locator('.text').isVisible()), 'the spoiler is hidden until revealed');
  await spoiler.locator('summary').click();
  check(await spoiler.locator('.text').isVisible(), 'the spoiler shows once revealed, without script');
  await page.screenshot({ path: join(SCREENSHOTS, 'book-page-without-script.png'), fullPage: true });
  check(problems.length === 0, `no dialog or error without script ${problems.join('; ')}`);
  await context.close();
}

// The book page as most readers see it: with script, wide and narrow, keyboard first.
{
  const { context, page, problems } = await open(bookPath);
  await page.screenshot({ path: join(SCREENSHOTS, 'book-page.png'), fullPage: true });
  const second = page.locator('.review', { hasText: '@demo_reader_02' });
  check((await second.locator('.reviewer .counts').innerText()) === '2,520 reviews · 705 followers', 'a reviewer card counts their reviews and followers');
  const author = page.locator('.review', { hasText: '@demo_reader_09' });
  check((await author.locator('.reviewer .badge').innerText()) === 'Author 63 books · 21 followers', 'an author reviewer shows their badge');
  const unrated = page.locator('.review', { hasText: '@demo_reader_03' });
  check((await unrated.locator('.verdict .shelf').innerText()) === 'Read', 'the unrated reviewer shows their shelf where stars would be');
  await accessible(page, 'the book page');
  await page.keyboard.press('Tab');
  const skip = await page.evaluate(() => document.activeElement?.textContent);
  check(skip === 'Skip to content', `the first Tab reaches the skip link (got "${skip}")`);
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  check(outline !== 'none', 'the focused link shows its focus');
  check(problems.length === 0, `no dialog or error with script ${problems.join('; ')}`);
  await context.close();
}
{
  const { context, page } = await open(bookPath, { width: 375 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 0, `usable 375 px wide: no sideways scrolling (overflow ${overflow} px)`);
  await accessible(page, 'the book page at 375 px');
  await page.screenshot({ path: join(SCREENSHOTS, 'book-page-375.png'), fullPage: true });
  await context.close();
}

// Hostile text in every field the page shows: inert, with script on and off, shown as typed.
for (const script of [false, true]) {
  const { context, page, response, problems } = await open(`/books/${HOSTILE_BOOK_ID}`, { script });
  const when = script ? 'with script' : 'without script';
  check(response.status() === 200, `the hostile book's page answers 200 ${when}`);
  check(await page.getByRole('heading', { level: 1 }).innerText() === '<script>alert("title")</script>: "><svg onload=alert(5)>', `its title is shown as typed ${when}`);
  check((await page.locator('.byline').innerText()).includes('<img src=x onerror=alert(3)>'), `its author's name is shown as typed ${when}`);
  check((await page.locator('.description').innerText()).trim() === HOSTILE.trim(), `its description is shown as typed ${when}`);
  const review = page.locator('.review').first();
  check((await review.locator('.text').innerText()).trim() === HOSTILE.trim(), `the review is shown as typed ${when}`);
  check((await review.locator('.reviewer .name a').innerText()) === '"><svg onload=alert(4)>', `the reviewer's name is shown as typed ${when}`);
  const injected = await page.locator('main img, main svg, main iframe, main a[href^="javascript:"], main [onerror], main [onload], body > script, main script').count();
  check(injected === 0, `no element came out of the texts ${when} (found ${injected})`);
  check((await page.title()).startsWith('<script>alert("title")</script>'), `the window's title is the book's text, not markup ${when}`);
  if (script) {
    await page.screenshot({ path: join(SCREENSHOTS, 'hostile-book-page.png'), fullPage: true });
    await accessible(page, 'the hostile book page');
  }
  check(problems.length === 0, `no dialog or error on the hostile page ${when} ${problems.join('; ')}`);
  await context.close();
}

// A page that does not exist is a page too.
{
  const { context, page, response } = await open('/books/not-a-book');
  check(response.status() === 404, 'an unknown book is 404');
  await accessible(page, 'the not-found page');
  await context.close();
}

await browser.close();
if (failures.length > 0) {
  console.log(`${failures.length} check(s) failed`);
  process.exit(1);
}
