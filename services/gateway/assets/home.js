// Home's script: for a signed-in reader, what the readers they follow did, newest first, with
// new items added at the top as they happen. Text from the API is only set as textContent.
import { graphql, onSession, subscribe } from './session.js';

const FIELDS = `kind at stars books position
  reader { displayName url } book { title url } followed { displayName url } author { name url }`;

const feed = document.querySelector('#feed');
const list = document.querySelector('#feed-list');
const empty = document.querySelector('#feed-empty');
const intro = document.querySelector('#intro');
let since = 0;
let live = null;

/** A link to one of this site's pages (the API gives absolute addresses). */
function link(text, url) {
  const anchor = document.createElement('a');
  anchor.textContent = text;
  anchor.href = new URL(url, location.href).pathname;
  return anchor;
}

const WORDS = {
  STARTED_READING: ['started reading'],
  FINISHED_READING: ['finished'],
  DID_NOT_FINISH: ['did not finish'],
  WANT_TO_READ: ['wants to read'],
  RATED: ['rated'],
  REVIEWED: ['reviewed'],
  LIKED_REVIEW: ['liked a review of'],
};

function entry(item) {
  const li = document.createElement('li');
  li.className = 'feed-item';
  const line = document.createElement('p');
  if (item.reader) line.append(link(item.reader.displayName, item.reader.url), ' ');
  if (item.kind === 'FOLLOWED' && item.followed) {
    line.append('followed ', link(item.followed.displayName, item.followed.url));
  } else if (item.kind === 'NEW_BOOK' && item.book) {
    if (item.author) line.append(link(item.author.name, item.author.url), ' ');
    line.append('has a new book: ', link(item.book.title, item.book.url));
  } else if (item.kind === 'IMPORTED') {
    line.append(`brought ${item.books ?? 0} books from another site`);
  } else if (item.book) {
    line.append(`${(WORDS[item.kind] ?? ['read'])[0]} `, link(item.book.title, item.book.url));
    if (item.kind === 'RATED' && item.stars) line.append(` ${item.stars} out of 5`);
  }
  const time = document.createElement('time');
  time.dateTime = item.at;
  time.textContent = new Date(item.at).toLocaleString('en-US', { dateStyle: 'medium', timeStyle: 'short' });
  li.append(line, time);
  li.dataset.position = item.position;
  return li;
}

onSession(async (signedIn) => {
  feed.hidden = !signedIn;
  intro.hidden = Boolean(signedIn);
  if (!signedIn) return;
  const data = await graphql(`{ viewer { feed(first: 20) { nodes { ${FIELDS} } } } }`);
  const items = data.viewer?.feed.nodes ?? [];
  list.replaceChildren(...items.map(entry));
  since = Math.max(0, ...items.map((item) => item.position));
  empty.hidden = items.length > 0;
  live ??= subscribe(`subscription($since: Int) { feed(since: $since) { ${FIELDS} } }`, () => ({ since }), ({ feed: item }) => {
    if (item.position <= since && list.querySelector(`[data-position="${item.position}"]`)) return;
    since = Math.max(since, item.position);
    empty.hidden = true;
    list.prepend(entry(item));
  });
});
