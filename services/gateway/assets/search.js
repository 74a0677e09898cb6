// Search as you type: each pause in typing asks the API and replaces the results in place (the
// address follows, so back and reload keep the query). Text from the API is set as textContent.
import { graphql } from './session.js';

const input = document.querySelector('#search-query');
const results = document.querySelector('#search-results');
const summary = document.querySelector('#search-summary');
const QUERY = `query($q: String!) { search(query: $q, first: 20) { nodes {
  __typename
  ... on Book { url title subtitle authors { name } }
  ... on Author { url name booksCount }
  ... on Reader { url handle displayName }
} } }`;

let timer = null;
let asked = 0;

function item(hit) {
  const li = document.createElement('li');
  const kind = document.createElement('span');
  kind.className = 'kind';
  const link = document.createElement('a');
  link.href = new URL(hit.url, location.href).pathname;
  const text = document.createElement('bdi');
  const detail = document.createElement('span');
  detail.className = 'counts';
  if (hit.__typename === 'Book') {
    kind.textContent = 'Book';
    text.textContent = hit.subtitle ? `${hit.title}: ${hit.subtitle}` : hit.title;
    detail.textContent = `by ${hit.authors.map((a) => a.name).join(', ')}`;
  } else if (hit.__typename === 'Author') {
    kind.textContent = 'Author';
    text.textContent = hit.name;
    detail.textContent = `${hit.booksCount} ${hit.booksCount === 1 ? 'book' : 'books'}`;
  } else {
    kind.textContent = 'Reader';
    text.textContent = hit.displayName;
    detail.textContent = `@${hit.handle}`;
  }
  link.append(text);
  li.append(kind, ' ', link, ' ', detail);
  return li;
}

async function search() {
  const q = input.value.trim();
  const mine = ++asked;
  history.replaceState(null, '', q ? `/search?q=${encodeURIComponent(q)}` : '/search');
  if (!q) {
    results.replaceChildren();
    summary.textContent = '';
    return;
  }
  try {
    const data = await graphql(QUERY, { q });
    if (mine !== asked) return; // a later keystroke asked again
    const hits = data.search.nodes;
    results.replaceChildren(...hits.map(item));
    summary.textContent = `${hits.length} result${hits.length === 1 ? '' : 's'} for “${q}”`;
  } catch (err) {
    if (mine === asked) summary.textContent = `${err.message}${err.code ? ` (${err.code})` : ''}`;
  }
}

input.addEventListener('input', () => {
  clearTimeout(timer);
  timer = setTimeout(search, 200);
});
