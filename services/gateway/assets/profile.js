// A reader's profile: follow and block them, for a signed-in viewer who is not them.
import { ApiError, graphql, onSession } from './session.js';

const profile = document.querySelector('[data-reader-id]');
const readerId = profile.dataset.readerId;
const actions = document.querySelector('#profile-actions');
const follow = document.querySelector('#follow');
const block = document.querySelector('#block');
const status = document.querySelector('#profile-status');
const followers = document.querySelector('[data-followers]');
let state = { follows: false, blocks: false };

function show() {
  follow.textContent = state.follows ? 'Unfollow' : 'Follow';
  follow.setAttribute('aria-pressed', String(state.follows));
  follow.disabled = state.blocks;
  block.textContent = state.blocks ? 'Unblock' : 'Block';
  block.setAttribute('aria-pressed', String(state.blocks));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The reader's own year in reading: books and pages finished, month by month. */
async function showYear() {
  const year = new Date().getFullYear();
  const data = await graphql('query($h: String!, $y: Int!) { reader(handle: $h) { readingStats(year: $y) { booksFinished pagesFinished months { month books } } } }', { h: profile.dataset.handle, y: year });
  const stats = data.reader?.readingStats;
  if (!stats) return;
  const grouped = new Intl.NumberFormat('en-US');
  document.querySelector('#year-title').textContent = `Your ${year}`;
  document.querySelector('#year-figures').textContent =
    `${grouped.format(stats.booksFinished)} ${stats.booksFinished === 1 ? 'book' : 'books'} and ${grouped.format(stats.pagesFinished)} pages finished.`;
  document.querySelector('#year-months').replaceChildren(...stats.months.map((month) => {
    const li = document.createElement('li');
    li.textContent = `${MONTHS[month.month - 1]}: ${month.books}`;
    return li;
  }));
  document.querySelector('#your-year').hidden = false;
}

onSession(async (signedIn) => {
  actions.hidden = !signedIn || signedIn.readerId === readerId;
  if (signedIn && signedIn.readerId === readerId) await showYear();
  if (actions.hidden) return;
  const data = await graphql('query($h: String!) { reader(handle: $h) { viewerFollows viewerBlocks } }', { h: profile.dataset.handle });
  state = { follows: data.reader?.viewerFollows ?? false, blocks: data.reader?.viewerBlocks ?? false };
  show();
});

async function act(mutation, next, said) {
  status.textContent = 'Saving…';
  try {
    await graphql(`mutation($r: ID!) { ${mutation}(readerId: $r) { position } }`, { r: readerId });
    const before = state.follows;
    state = { ...state, ...next };
    if (followers && before !== state.follows) {
      const count = Number(followers.textContent.replace(/,/g, '')) + (state.follows ? 1 : -1);
      followers.textContent = new Intl.NumberFormat('en-US').format(Math.max(0, count));
    }
    show();
    status.textContent = said;
  } catch (err) {
    status.textContent = err instanceof ApiError ? `Not saved: ${err.message}` : 'Not saved: the connection failed.';
  }
}

follow.addEventListener('click', () =>
  state.follows ? act('unfollow', { follows: false }, 'Unfollowed.') : act('follow', { follows: true }, 'Following.'));
block.addEventListener('click', () =>
  state.blocks ? act('unblock', { blocks: false }, 'Unblocked.') : act('block', { blocks: true, follows: false }, 'Blocked: they no longer see your reading or words, nor you theirs.'));
