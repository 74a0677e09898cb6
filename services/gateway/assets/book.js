// The book page's script: the viewer's own stars and shelf (rated and shelved from here), and
// the figures and reviews as they change, live. Everything public is already in the HTML; this
// only adds what is the viewer's and what changed since the page was rendered. Text from the
// API is only ever set as textContent, never as HTML.
import { ApiError, graphql, onSession, session, subscribe } from './session.js';

const page = document.querySelector('[data-book-id]');
const bookId = page.dataset.bookId;

const SHELVES = {
  WANT_TO_READ: 'wantToRead',
  CURRENTLY_READING: 'startReading',
  READ: 'finishReading',
  PAUSED: 'pauseReading',
  DID_NOT_FINISH: 'abandonReading',
};

const yours = document.querySelector('#your-take');
const invite = document.querySelector('#sign-in-to-rate');
const status = document.querySelector('#your-take-status');

function say(message) {
  status.textContent = message;
}

function failed(err) {
  say(err instanceof ApiError ? `Not saved: ${err.message}` : 'Not saved: the connection failed; try again.');
}

let yourReview = null;

async function showYours() {
  const data = await graphql(
    'query($b: ID!) { book(id: $b) { viewerRating viewerShelf { status } viewerReview { id body(revealSpoilers: true) containsSpoilers } } }',
    { b: bookId },
  );
  const stars = data.book?.viewerRating;
  for (const input of yours.querySelectorAll('input[name="stars"]')) input.checked = Number(input.value) === stars;
  yours.querySelector('#your-shelf').value = data.book?.viewerShelf?.status ?? '';
  yours.querySelector('#clear-rating').hidden = stars == null;
  yourReview = data.book?.viewerReview ?? null;
  if (yourReview) {
    yours.querySelector('#review-body').value = yourReview.body ?? '';
    yours.querySelector('#review-spoilers').checked = yourReview.containsSpoilers;
  }
  yours.querySelector('#review-submit').textContent = yourReview ? 'Save your review' : 'Publish review';
}

onSession(async (signedIn) => {
  yours.hidden = !signedIn;
  invite.hidden = Boolean(signedIn);
  for (const button of document.querySelectorAll('.follow-author, .review .like')) button.hidden = !signedIn;
  if (signedIn) await Promise.all([showYours(), showFollowed(), showLikes(), showFollowedAuthors()]).catch(failed);
});

// What the readers the viewer follows did with this book.
async function showFollowed() {
  const data = await graphql(
    'query($b: ID!) { book(id: $b) { followedReaders(first: 20) { nodes { status stars reader { displayName url } } } } }',
    { b: bookId },
  );
  const nodes = data.book?.followedReaders.nodes ?? [];
  const section = document.querySelector('#followed-readers');
  section.hidden = nodes.length === 0;
  const words = { WANT_TO_READ: 'wants to read it', CURRENTLY_READING: 'is reading it', READ: 'read it', PAUSED: 'paused it', DID_NOT_FINISH: 'did not finish it' };
  document.querySelector('#followed-list').replaceChildren(...nodes.filter((n) => n.reader).map((n) => {
    const li = element('li');
    const link = element('a');
    link.href = new URL(n.reader.url, location.href).pathname;
    link.append(element('bdi', null, n.reader.displayName));
    const did = [words[n.status], n.stars ? `rated it ${n.stars} out of 5` : null].filter(Boolean).join(' and ');
    li.append(link, ` ${did || 'reviewed it'}`);
    return li;
  }));
}

// The authors' follow buttons.
async function showFollowedAuthors() {
  for (const item of document.querySelectorAll('[data-author-id]')) {
    const data = await graphql('query($a: ID!) { author(id: $a) { viewerFollows } }', { a: item.dataset.authorId });
    setPressed(item.querySelector('.follow-author'), data.author?.viewerFollows ?? false, 'Following', 'Follow');
  }
}

function setPressed(button, pressed, on, off) {
  button.setAttribute('aria-pressed', String(pressed));
  button.textContent = pressed ? on : off;
}

/** Adds `by` to the count in `node`, as the page writes counts. */
function bump(node, by) {
  const count = Number(node.textContent.replace(/,/g, '')) + by;
  node.textContent = grouped.format(Math.max(0, count));
}

for (const item of document.querySelectorAll('[data-author-id]')) {
  const button = item.querySelector('.follow-author');
  button.addEventListener('click', async () => {
    const follows = button.getAttribute('aria-pressed') === 'true';
    try {
      const mutation = follows ? 'unfollowAuthor' : 'followAuthor';
      await graphql(`mutation($a: ID!) { ${mutation}(authorId: $a) { position } }`, { a: item.dataset.authorId });
      setPressed(button, !follows, 'Following', 'Follow');
      bump(item.querySelector('[data-followers]'), follows ? -1 : 1);
    } catch (err) {
      failed(err);
    }
  });
}

// Likes: which of the page's reviews the viewer likes, and the buttons that change it.
async function showLikes() {
  const data = await graphql(
    'query($b: ID!, $o: ReviewOrder!, $s: Int, $a: String) { book(id: $b) { reviews(first: 20, orderBy: $o, stars: $s, after: $a) { nodes { id likedByViewer } } } }',
    { b: bookId, o: page.dataset.order, s: page.dataset.stars ? Number(page.dataset.stars) : null, a: page.dataset.after ?? null },
  );
  const liked = new Set((data.book?.reviews.nodes ?? []).filter((r) => r.likedByViewer).map((r) => r.id));
  for (const article of document.querySelectorAll('.review article[data-review-id]')) {
    const button = article.querySelector('.like');
    if (button) setPressed(button, liked.has(article.dataset.reviewId), 'Liked', 'Like');
  }
}

document.querySelector('.review-list').addEventListener('click', async (event) => {
  const button = event.target.closest('.like');
  if (!button) return;
  const article = button.closest('article[data-review-id]');
  const liked = button.getAttribute('aria-pressed') === 'true';
  try {
    const mutation = liked ? 'unlikeReview' : 'likeReview';
    await graphql(`mutation($r: ID!) { ${mutation}(reviewId: $r) { position } }`, { r: article.dataset.reviewId });
    setPressed(button, !liked, 'Liked', 'Like');
    bump(article.querySelector('[data-likes]'), liked ? -1 : 1);
  } catch (err) {
    failed(err);
  }
});

yours.querySelector('#your-stars').addEventListener('change', async (event) => {
  const stars = Number(event.target.value);
  say('Saving…');
  try {
    await graphql('mutation($b: ID!, $s: Float!) { rateBook(bookId: $b, stars: $s) { position } }', { b: bookId, s: stars });
    yours.querySelector('#clear-rating').hidden = false;
    say(`You rated it ${stars} out of 5.`);
  } catch (err) {
    failed(err);
  }
});

yours.querySelector('#clear-rating').addEventListener('click', async () => {
  say('Saving…');
  try {
    await graphql('mutation($b: ID!) { clearRating(bookId: $b) { position } }', { b: bookId });
    for (const input of yours.querySelectorAll('input[name="stars"]')) input.checked = false;
    yours.querySelector('#clear-rating').hidden = true;
    say('Your rating is cleared.');
  } catch (err) {
    failed(err);
  }
});

yours.querySelector('#your-shelf').addEventListener('change', async (event) => {
  const shelf = event.target.value;
  const mutation = shelf ? SHELVES[shelf] : 'removeFromShelves';
  say('Saving…');
  try {
    await graphql(`mutation($b: ID!) { ${mutation}(bookId: $b) { position } }`, { b: bookId });
    say(shelf ? `On your ${event.target.selectedOptions[0].textContent} shelf.` : 'Off your shelves.');
  } catch (err) {
    failed(err);
    await showYours().catch(() => {});
  }
});

yours.querySelector('#your-review').addEventListener('submit', async (event) => {
  event.preventDefault();
  const body = yours.querySelector('#review-body').value;
  const spoilers = yours.querySelector('#review-spoilers').checked;
  say('Saving…');
  try {
    if (yourReview) {
      await graphql('mutation($r: ID!, $body: String!, $s: Boolean!) { editReview(reviewId: $r, body: $body, containsSpoilers: $s) { position } }', {
        r: yourReview.id,
        body,
        s: spoilers,
      });
      say('Your review is saved.');
    } else {
      await graphql('mutation($b: ID!, $body: String!, $s: Boolean!) { publishReview(bookId: $b, body: $body, containsSpoilers: $s) { position } }', {
        b: bookId,
        body,
        s: spoilers,
      });
      say('Your review is published.');
    }
    await showYours();
  } catch (err) {
    failed(err);
  }
});

// Live figures: the rating summary, the histogram and the shelf counts.
const grouped = new Intl.NumberFormat('en-US');
const plural = (n, one, many) => `${grouped.format(n)} ${n === 1 ? one : many}`;

subscribe(
  'subscription($b: ID!) { bookRatingsChanged(bookId: $b) { ratings { count average reviewCount histogram { stars count percent } } } }',
  () => ({ b: bookId }),
  ({ bookRatingsChanged: { ratings } }) => {
    // The first push is the figures as they are: from here on the page is live.
    page.dataset.live = 'true';
    document.querySelector('[data-average]').textContent = ratings.average.toFixed(2);
    document.querySelector('[data-rating-counts]').textContent =
      `${plural(ratings.count, 'rating', 'ratings')} · ${plural(ratings.reviewCount, 'review', 'reviews')}`;
    for (const bucket of ratings.histogram) {
      const row = document.querySelector(`[data-bucket="${bucket.stars}"]`);
      if (!row) continue;
      const bar = row.querySelector('progress');
      bar.value = bucket.percent;
      bar.setAttribute('aria-label', `${bucket.stars} stars: ${bucket.percent}%`);
      row.querySelector('.figure').textContent = `${grouped.format(bucket.count)} (${bucket.percent}%)`;
    }
  },
);

subscribe(
  'subscription($b: ID!) { bookShelfCountsChanged(bookId: $b) { counts { currentlyReading wantToRead } } }',
  () => ({ b: bookId }),
  ({ bookShelfCountsChanged: { counts } }) => {
    document.querySelector('[data-currently-reading]').textContent = grouped.format(counts.currentlyReading);
    document.querySelector('[data-want-to-read]').textContent = grouped.format(counts.wantToRead);
  },
);

// New reviews, on the first page of the newest ones: each added at the top as it is published.
const list = document.querySelector('.review-list');
let since = Number(page.dataset.reviewsSince);
if (page.dataset.liveReviews === 'true') {
  subscribe(
    `subscription($b: ID!, $since: Int) { bookReviewAdded(bookId: $b, since: $since) {
      id stars writtenOn containsSpoilers body(revealSpoilers: true) position likesCount commentsCount
      reviewer { url handle displayName reviewsCount followersCount avatar { url(size: SMALL) } }
    } }`,
    () => ({ b: bookId, since }),
    ({ bookReviewAdded: review }) => {
      since = Math.max(since, review.position);
      if (list.querySelector(`[data-review-id="${CSS.escape(review.id)}"]`)) return;
      list.prepend(reviewCard(review));
    },
  );
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

/** A review as the page renders one, built from text nodes only. */
function reviewCard(review) {
  const item = element('li', 'review');
  const article = element('article');
  article.dataset.reviewId = review.id;
  const who = review.reviewer;
  article.setAttribute('aria-label', who ? `Review by ${who.displayName}` : 'Review');
  const reviewer = element('div', 'reviewer');
  if (who) {
    if (who.avatar) {
      const picture = element('img', 'reviewer-avatar');
      Object.assign(picture, { src: who.avatar.url, alt: '', width: 48, height: 48 });
      reviewer.append(picture);
    } else {
      const letter = element('span', 'reviewer-avatar', who.displayName.charAt(0) || '?');
      letter.setAttribute('aria-hidden', 'true');
      reviewer.append(letter);
    }
    const name = element('p', 'name');
    const link = element('a', null);
    link.href = new URL(who.url, location.href).pathname;
    link.append(element('bdi', null, who.displayName));
    name.append(link, ' ', element('span', 'handle', `@${who.handle}`));
    reviewer.append(name, element('p', 'counts', `${plural(who.reviewsCount, 'review', 'reviews')} · ${plural(who.followersCount, 'follower', 'followers')}`));
  }
  const body = element('div', 'review-body');
  const verdict = element('p', 'verdict');
  if (review.stars) {
    const stars = element('span', 'stars', '★'.repeat(review.stars) + '☆'.repeat(5 - review.stars));
    stars.setAttribute('role', 'img');
    stars.setAttribute('aria-label', `Rated ${review.stars} out of 5`);
    verdict.append(stars, ' ');
  }
  const time = element('time', null, new Date(`${review.writtenOn}T00:00:00Z`).toLocaleDateString('en-US', { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' }));
  time.dateTime = review.writtenOn;
  verdict.append(time);
  const text = element('p', 'text', review.body ?? '');
  text.dir = 'auto';
  if (review.containsSpoilers) {
    const details = element('details', 'spoiler');
    details.append(element('summary', null, 'This review contains spoilers. Show it'), text);
    body.append(verdict, details);
  } else {
    body.append(verdict, text);
  }
  body.append(element('p', 'reactions', `${plural(review.likesCount, 'like', 'likes')} · ${plural(review.commentsCount, 'comment', 'comments')}`));
  article.append(reviewer, body);
  item.append(article);
  return item;
}


