// An author's page: follow them, for a signed-in viewer, to see their new books in the feed.
import { ApiError, graphql, onSession } from './session.js';

const page = document.querySelector('[data-author-id]');
const authorId = page.dataset.authorId;
const actions = document.querySelector('#author-actions');
const button = document.querySelector('#follow-author');
const status = document.querySelector('#author-status');
const followers = document.querySelector('[data-followers]');
let follows = false;

function show() {
  button.textContent = follows ? 'Unfollow' : 'Follow';
  button.setAttribute('aria-pressed', String(follows));
}

onSession(async (signedIn) => {
  actions.hidden = !signedIn;
  if (!signedIn) return;
  const data = await graphql('query($a: ID!) { author(id: $a) { viewerFollows } }', { a: authorId });
  follows = data.author?.viewerFollows ?? false;
  show();
});

button.addEventListener('click', async () => {
  const mutation = follows ? 'unfollowAuthor' : 'followAuthor';
  status.textContent = 'Saving…';
  try {
    await graphql(`mutation($a: ID!) { ${mutation}(authorId: $a) { position } }`, { a: authorId });
    follows = !follows;
    const count = Number(followers.textContent.replace(/,/g, '')) + (follows ? 1 : -1);
    followers.textContent = new Intl.NumberFormat('en-US').format(Math.max(0, count));
    show();
    status.textContent = follows ? 'Following: their new books will be in your feed.' : 'Unfollowed.';
  } catch (err) {
    status.textContent = err instanceof ApiError ? `Not saved: ${err.message}` : 'Not saved: the connection failed.';
  }
});
