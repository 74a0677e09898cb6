// The web app in a real browser, as a reader uses it: Debian's Chromium driven by
// playwright-core, every page checked by axe-core. Run by the Rust test `browser` (tests/e2e),
// which starts the system, loads the demo and passes where things are:
//   BASE_URL     the gateway, e.g. http://127.0.0.1:8080
//   BOOK_ID      the seed book's id
//   HOSTILE_BOOK_ID  a book whose title, subtitle, description, author, reviewer's name and
//                review are hostile text
//   HOSTILE      that review's body (and the book's description), to be shown as typed
//   EXPIRING_BASE_URL, EXPIRING_BOOK_ID  a second gateway whose access tokens live 3 s, and a
//                book of its
//   CHROMIUM     the browser's executable (deploy/local/install-browser.sh prints it)
//   SCREENSHOTS  the folder each page's screenshot is saved in
// Prints one line per check; exits 1 after the first failure, naming it.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';

const { BASE_URL, BOOK_ID, HOSTILE_BOOK_ID, HOSTILE, CHROMIUM, SCREENSHOTS, EXPIRING_BASE_URL, EXPIRING_BOOK_ID } = process.env;
for (const [name, value] of Object.entries({ BASE_URL, BOOK_ID, HOSTILE_BOOK_ID, HOSTILE, CHROMIUM, SCREENSHOTS, EXPIRING_BASE_URL, EXPIRING_BOOK_ID })) {
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

// A reader signs up, rates, shelves and reviews the seed book, while a second browser, signed
// out, watches the page change without a reload.
{
  const reader = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const watcher = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  const watch = (page) => {
    page.on('dialog', async (dialog) => { problems.push(`a dialog opened: ${dialog.message()}`); await dialog.dismiss(); });
    page.on('pageerror', (err) => problems.push(`a script failed: ${err.message}`));
    return page;
  };
  const a = watch(await reader.newPage());
  await a.goto(`${BASE_URL}/sign-up?next=${encodeURIComponent(bookPath)}`);
  await accessible(a, 'the sign-up page');
  await a.screenshot({ path: join(SCREENSHOTS, 'sign-up.png'), fullPage: true });
  await a.getByLabel('Handle').fill('browser_reader');
  await a.getByLabel('Display name').fill('Browser Reader');
  await a.getByLabel('Password').fill('correct horse battery');
  await a.getByRole('button', { name: 'Sign up' }).click();
  await a.waitForURL(`${BASE_URL}${bookPath}`);
  await a.locator('#your-take').waitFor({ state: 'visible' });
  check(await a.locator('#sign-in-to-rate').isHidden(), 'signed up, the page invites no sign-in');
  check((await a.locator('[data-me]').innerText()) === 'Browser Reader', 'the header names the signed-in reader');

  const b = watch(await watcher.newPage());
  await b.goto(`${BASE_URL}${bookPath}`);
  await b.locator('article[data-live="true"]').waitFor({ timeout: 15_000 });
  check(await b.locator('#your-take').isHidden(), 'a signed-out reader is invited to sign in instead');

  await a.locator('label[for="stars-4"]').click();
  await a.locator('#your-take-status', { hasText: 'You rated it 4 out of 5.' }).waitFor();
  await b.locator('[data-bucket="4"] .figure', { hasText: '17 (50%)' }).waitFor({ timeout: 15_000 });
  check(true, 'a rating shows in another browser\'s histogram without a reload');
  check((await b.locator('[data-rating-counts]').innerText()).startsWith('34 ratings'), 'and in its rating count');

  await a.locator('#your-shelf').selectOption('CURRENTLY_READING');
  await b.locator('[data-currently-reading]', { hasText: /^7$/ }).waitFor({ timeout: 15_000 });
  check(true, 'a shelf change shows in another browser\'s counts without a reload');

  await a.locator('#review-body').fill('The ending: the thaw freezes over.\nStill worth it.');
  await a.locator('#review-spoilers').check();
  await a.getByRole('button', { name: 'Publish review' }).click();
  await a.locator('#your-take-status', { hasText: 'Your review is published.' }).waitFor();
  const added = b.locator('.review-list .review', { hasText: '@browser_reader' });
  await added.waitFor({ timeout: 15_000 });
  check(true, 'a new review appears in another browser without a reload');
  check(await added.locator('details.spoiler').count() === 1 && !(await added.locator('.text').isVisible()), 'folded, for its spoilers');
  await added.locator('summary').click();
  check((await added.locator('.text').innerText()) === 'The ending: the thaw freezes over.\nStill worth it.', 'revealable, with its line breaks');
  await b.screenshot({ path: join(SCREENSHOTS, 'book-page-live.png'), fullPage: true });

  // Two tabs refreshing at once both stay signed in (each refresh token is good once).
  const a2 = watch(await reader.newPage());
  await a2.goto(`${BASE_URL}${bookPath}`);
  await a2.locator('#your-take').waitFor({ state: 'visible' });
  const handles = await Promise.all([a, a2].map((tab) => tab.evaluate(async () => {
    const session = await import('/assets/session.js');
    const refreshed = await Promise.all([session.refresh(), session.refresh()]);
    return refreshed.map((s) => s?.reader?.handle ?? null);
  })));
  check(handles.flat().every((handle) => handle === 'browser_reader'), `two tabs refreshing at once stay signed in (${handles})`);
  for (const tab of [a, a2]) {
    await tab.reload();
    await tab.locator('#your-take').waitFor({ state: 'visible' });
  }
  check(await a.locator('#stars-4').isChecked(), 'after a reload the reader sees their own stars');
  check((await a.locator('#your-shelf').inputValue()) === 'CURRENTLY_READING', 'and their shelf');
  await a.screenshot({ path: join(SCREENSHOTS, 'book-page-signed-in.png'), fullPage: true });
  await accessible(a, 'the book page, signed in');

  // Follow a reader from their profile: what they do next arrives in the home feed, live. (The
  // second reviewer, with 705 followers, is above the test system's fan-out limit of 3, so
  // merged into feeds on read; the live check follows one with none.)
  const home = watch(await reader.newPage());
  const frames = [];
  home.on('websocket', (ws) => {
    ws.on('framesent', (f) => frames.push(`> ${String(f.payload).slice(0, 160)}`));
    ws.on('framereceived', (f) => frames.push(`< ${String(f.payload).slice(0, 160)}`));
    ws.on('close', () => frames.push('closed'));
  });
  home.on('console', (m) => frames.push(`console ${m.type()}: ${m.text()}`));
  await home.goto(`${BASE_URL}/`);
  await home.locator('#feed').waitFor({ state: 'visible' });
  await a.goto(`${BASE_URL}/readers/demo_reader_02`);
  await a.locator('#profile-actions').waitFor({ state: 'visible' });
  await accessible(a, "a reader's profile");
  await a.screenshot({ path: join(SCREENSHOTS, 'reader-profile.png'), fullPage: true });
  await a.getByRole('button', { name: 'Follow' }).click();
  await a.locator('#profile-status', { hasText: 'Following.' }).waitFor();
  check((await a.locator('[data-followers]').innerText()) === '706', 'the follower count counts the new follower');
  await a.goto(`${BASE_URL}/readers/demo_reader_06`);
  await a.locator('#profile-actions').waitFor({ state: 'visible' });
  await a.getByRole('button', { name: 'Follow' }).click();
  await a.locator('#profile-status', { hasText: 'Following.' }).waitFor();
  const followed = await fetch(`${BASE_URL}/session/sign-in`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ handle: 'demo_reader_06', password: 'readstream-demo' }),
  }).then((response) => response.json());
  check(Boolean(followed.token), `the followed reader signs in ${JSON.stringify(followed.error ?? '')}`);
  const theirs = await fetch(`${BASE_URL}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${followed.token}` },
    body: JSON.stringify({ query: 'mutation($b: ID!) { rateBook(bookId: $b, stars: 2) { position } }', variables: { b: HOSTILE_BOOK_ID } }),
  }).then((response) => response.json());
  check(!theirs.errors, `and rates a book ${JSON.stringify(theirs.errors ?? '')}`);
  const arrived = await home.locator('#feed-list .feed-item', { hasText: 'Owen Gallagher rated' }).waitFor({ timeout: 15_000 }).then(() => true, () => false);
  if (!arrived) {
    const feed = await home.evaluate(async () => (await import('/assets/session.js')).graphql('{ viewer { handle feed(first: 5) { nodes { kind position reader { displayName } } } } }'));
    console.log(`  the feed through the API: ${JSON.stringify(feed)}; the page's: ${await home.locator('#feed').innerText()}`);
    console.log(`  the home page's socket:\n    ${frames.join('\n    ')}`);
  }
  check(arrived, 'a followed reader\'s rating arrives in the home feed without a reload');
  await accessible(home, 'home, signed in');
  await home.screenshot({ path: join(SCREENSHOTS, 'home.png'), fullPage: true });

  // The author's page, from the book page's byline.
  await a.goto(`${BASE_URL}${bookPath}`);
  await a.locator('.byline a').first().click();
  await a.locator('#author-actions').waitFor({ state: 'visible' });
  check((await a.getByRole('heading', { level: 1 }).innerText()) === 'Kathleen E. Smith', 'the byline leads to the author\'s page');
  await accessible(a, "an author's page");
  await a.screenshot({ path: join(SCREENSHOTS, 'author.png'), fullPage: true });

  // Search as you type: the results follow the keys, without a submit.
  await a.goto(`${BASE_URL}/search`);
  await a.locator('#search-query').pressSequentially('moskow 1956', { delay: 40 });
  await a.locator('#search-results a', { hasText: 'Moscow 1956' }).waitFor({ timeout: 10_000 });
  check(a.url().endsWith('/search?q=moskow%201956'), `the address follows the query (${a.url()})`);
  await accessible(a, 'search');
  await a.screenshot({ path: join(SCREENSHOTS, 'search.png'), fullPage: true });

  // Their own profile: their year in reading, and no follow button for themselves.
  await a.goto(`${BASE_URL}/readers/browser_reader`);
  await a.locator('#your-year').waitFor({ state: 'visible' });
  check((await a.locator('#year-figures').innerText()).endsWith('pages finished.'), 'a reader\'s own profile shows their year');
  check(await a.locator('#profile-actions').isHidden(), 'and offers no following of themselves');
  await accessible(a, 'their own profile');

  // Settings: the reader's own profile and privacy, and their data.
  await a.goto(`${BASE_URL}/settings`);
  await a.locator('#settings').waitFor({ state: 'visible' });
  check((await a.locator('#display-name').inputValue()) === 'Browser Reader', 'settings show the reader\'s own profile');
  await a.locator('label[for="vis-followers"]').click();
  await a.getByRole('button', { name: 'Save privacy' }).click();
  await a.locator('#settings-status', { hasText: 'Who sees your reading is saved.' }).waitFor();
  check(true, 'a privacy change is saved from settings');
  const [download] = await Promise.all([a.waitForEvent('download'), a.getByRole('button', { name: 'Download as a Goodreads CSV' }).click()]);
  const exported = await download.path().then((path) => import('node:fs').then((fs) => fs.readFileSync(path, 'utf8')));
  check(download.suggestedFilename() === 'readstream_library_export.csv' && exported.startsWith('Book Id,Title,Author'), 'the library downloads as a Goodreads CSV');
  check(exported.includes('Moscow 1956'), 'with the book the reader shelved');
  // Upload an avatar: it shows in settings and on the reader's profile, served by the gateway.
  const picture = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAABgAAAAYCAIAAABvFaqvAAAAMUlEQVR4nGOwiVqAhk5gIGLUMIwaREeDyNOGqWbUIHoaNPjS0ahBhA0afOlo1CCCagAiylcud1w2kQAAAABJRU5ErkJggg==', 'base64');
  await a.locator('#avatar-file').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: picture });
  await a.getByRole('button', { name: 'Upload picture' }).click();
  await a.locator('#settings-status', { hasText: 'Your picture is saved.' }).waitFor();
  const loaded = (image) => image.evaluate((img) => img.complete && img.naturalWidth > 0);
  const preview = a.locator('#avatar-preview img');
  await preview.waitFor();
  check(/\/images\/[0-9a-f]{64}\/large$/.test(await preview.getAttribute('src')) && await loaded(preview), 'an uploaded avatar shows in settings');
  await accessible(a, 'settings');
  await a.screenshot({ path: join(SCREENSHOTS, 'settings.png'), fullPage: true });
  await a.goto(`${BASE_URL}/readers/browser_reader`);
  const shown = a.locator('#avatar img');
  await shown.waitFor();
  check(await loaded(shown), 'and on the reader\'s profile');
  await a.screenshot({ path: join(SCREENSHOTS, 'profile-avatar.png') });
  await a.goto(`${BASE_URL}/settings`);
  await a.locator('#avatar-remove').waitFor({ state: 'visible' });
  await a.locator('#avatar-remove').click();
  await a.locator('#settings-status', { hasText: 'Your picture is removed.' }).waitFor();
  check(await a.locator('#avatar-preview img').count() === 0, 'and is removed from settings');

  // Import a library and watch it finish, with its refused row said.
  await a.goto(`${BASE_URL}/import`);
  await a.locator('#import').waitFor({ state: 'visible' });
  const library = [
    'Book Id,Title,Author,Author l-f,Additional Authors,ISBN,ISBN13,My Rating,Average Rating,Publisher,Binding,Number of Pages,Year Published,Original Publication Year,Date Read,Date Added,Bookshelves,Bookshelves with positions,Exclusive Shelf,My Review,Spoiler,Private Notes,Read Count,Owned Copies',
    '1,A Browser Test Book,Ada Author,,,,,4,0,,Paperback,210,2001,2001,2024/05/01,2024/04/01,,,read,,,,1,0',
    '2,Another Browser Test Book,Ada Author,,,"=""123""",,0,0,,Paperback,120,2002,2002,,2024/04/02,,,to-read,,,,0,0',
  ].join('\n');
  await a.locator('#import-file').setInputFiles({ name: 'goodreads_library_export.csv', mimeType: 'text/csv', buffer: Buffer.from(library) });
  await a.getByRole('button', { name: 'Import' }).click();
  await a.locator('#import-state', { hasText: 'Done' }).waitFor({ timeout: 30_000 });
  const figures = await a.locator('#import-figures').innerText();
  check(figures.startsWith('2 of 2 rows') && figures.includes('1 imported') && figures.includes('1 not imported'), `the import's progress reads "${figures}"`);
  check((await a.locator('#import-errors').innerText()).includes('Row 2'), 'the refused row is listed with its reason');
  check((await a.locator('#import-progress').evaluate((bar) => bar.value === bar.max)), 'the progress bar is full');
  await accessible(a, 'import');
  await a.screenshot({ path: join(SCREENSHOTS, 'import.png'), fullPage: true });

  await a.goto(`${BASE_URL}/`);
  await a.locator('#feed').waitFor({ state: 'visible' });
  // Signing out goes home: wait for that page, then load it again.
  await Promise.all([a.waitForEvent('framenavigated'), a.getByRole('button', { name: 'Sign out' }).click()]);
  await a.waitForLoadState('load');
  await a.locator('[data-signed-out]').waitFor({ state: 'visible' });
  await a.reload();
  await a.locator('#intro').waitFor({ state: 'visible' });
  check(await a.locator('[data-signed-in]').isHidden(), 'signed out, and still after a reload');
  check(problems.length === 0, `no dialog or script error while signed in ${problems.join('; ')}`);
  await reader.close();
  await watcher.close();
}

// The sign-in page, and a wrong password said in the page.
{
  const { context, page, problems } = await open('/sign-in');
  await accessible(page, 'the sign-in page');
  await page.getByLabel('Handle').fill('browser_reader');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#form-problem:not(:empty)').waitFor();
  check((await page.locator('#form-problem').innerText()).length > 0, 'a refused sign-in says why in the page');
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${BASE_URL}/`);
  await page.locator('#feed').waitFor({ state: 'visible' });
  check(true, 'signed in, home shows the feed');
  check(problems.filter((p) => !p.includes('401')).length === 0, `no script error on sign-in ${problems.join('; ')}`);
  await context.close();
}

// A socket past its token's life (3 s here) is closed with 4401 and the page subscribes again
// with a fresh token: a rating made after several lifetimes still arrives live.
{
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${EXPIRING_BASE_URL}/sign-up?next=${encodeURIComponent(`/books/${EXPIRING_BOOK_ID}`)}`);
  await page.getByLabel('Handle').fill('short_lived');
  await page.getByLabel('Display name').fill('Short Lived');
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.locator('#your-take').waitFor({ state: 'visible' });
  await page.locator('article[data-live="true"]').waitFor({ timeout: 15_000 });
  await page.waitForTimeout(8_000);
  const other = await fetch(`${EXPIRING_BASE_URL}/session/sign-up`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ handle: 'other_reader', displayName: 'Other', password: 'correct horse battery' }),
  }).then((response) => response.json());
  const rated = await fetch(`${EXPIRING_BASE_URL}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${other.token}` },
    body: JSON.stringify({ query: 'mutation($b: ID!) { rateBook(bookId: $b, stars: 5) { position } }', variables: { b: EXPIRING_BOOK_ID } }),
  }).then((response) => response.json());
  check(!rated.errors, `a second reader rates the book ${JSON.stringify(rated.errors ?? '')}`);
  await page.locator('[data-rating-counts]', { hasText: /^1 rating/ }).waitFor({ timeout: 15_000 });
  check(true, 'after its token expired twice over, the page still receives pushes');
  check(await page.locator('[data-me]').innerText() === 'Short Lived', 'and its reader is still signed in');
  check(errors.length === 0, `no script error across the expiries ${errors.join('; ')}`);
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
