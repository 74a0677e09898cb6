// The browser's session and its GraphQL, for every page's script.
//
// The access token lives in this module's memory only. The refresh token is an HttpOnly cookie
// this script never sees: POST /session/refresh trades it for the next access token, one tab at
// a time (a Web Lock), since each refresh token is good once and two tabs racing with the same
// one would end the session. Operations go to /graphql with the token as a bearer token, like
// any client's; live updates come over graphql-ws (vendored, loaded by the page before this).

const LOCK = 'readstream-session';
/** Refresh this long before the token ends. */
const EARLY_MS = 30_000;

let current = null; // { token, expiresAt, readerId, reader: { handle, displayName, url } }
let refreshing = null;
const listeners = new Set();

/** An error with the API's code (`extensions.code`, or the session doors' `error.code`). */
export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

async function post(path, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers,
    body: JSON.stringify(body ?? {}),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(data?.error?.message ?? `HTTP ${response.status}`, data?.error?.code);
  return data;
}

function keep(session) {
  current = session && {
    token: session.token,
    expiresAt: Date.parse(session.tokenExpiresAt),
    readerId: session.readerId,
    reader: session.reader,
  };
  for (const listener of listeners) listener(current);
  return current;
}

/** Calls `listener` with the session (null when signed out) whenever it changes. */
export function onSession(listener) {
  listeners.add(listener);
}

/** Trades the cookie's refresh token for a fresh access token: one tab at a time. */
export function refresh() {
  refreshing ??= navigator.locks
    .request(LOCK, async () => {
      try {
        return keep(await post('/session/refresh'));
      } catch (err) {
        if (err.code === 'UNAUTHENTICATED') return keep(null);
        throw err;
      }
    })
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

/** The session, refreshed when its token is about to end; null when signed out. */
export async function session() {
  if (current && current.expiresAt - Date.now() > EARLY_MS) return current;
  return refresh();
}

export async function signIn(handle, password) {
  return keep(await post('/session/sign-in', { handle, password }));
}

export async function signUp(handle, displayName, password) {
  return keep(await post('/session/sign-up', { handle, displayName, password }));
}

export async function signOut() {
  const signedIn = current;
  try {
    await post('/session/sign-out', {}, signedIn?.token);
  } finally {
    keep(null);
  }
}

/** Runs a GraphQL operation as the signed-in reader (or signed out): its data, or its first
 *  error thrown as an ApiError. A token refused as ended is refreshed once. */
export async function graphql(query, variables = {}) {
  return send(() => ({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ query, variables }) }));
}

/** Runs a GraphQL operation whose `$file` is `file`, as a multipart request (the spec Apollo's
 *  and urql's upload links send), like `graphql`. */
export async function upload(query, variables, file) {
  return send(() => {
    const body = new FormData();
    body.append('operations', JSON.stringify({ query, variables: { ...variables, file: null } }));
    body.append('map', JSON.stringify({ 0: ['variables.file'] }));
    body.append('0', file, file.name);
    return { headers: {}, body };
  });
}

async function send(request) {
  for (let attempt = 0; ; attempt += 1) {
    const signedIn = attempt === 0 ? await session() : await refresh();
    const { headers, body: sent } = request();
    if (signedIn) headers.Authorization = `Bearer ${signedIn.token}`;
    const response = await fetch('/graphql', { method: 'POST', headers, body: sent });
    const body = await response.json();
    const error = body.errors?.[0];
    if (error?.extensions?.code === 'UNAUTHENTICATED' && signedIn && attempt === 0) continue;
    if (error) throw new ApiError(error.message, error.extensions?.code);
    return body.data;
  }
}

let client = null;

function liveClient() {
  client ??= window.graphqlWs.createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    // Asked on every connection, so a reconnection carries a fresh token.
    connectionParams: async () => {
      const signedIn = await session();
      return signedIn ? { Authorization: `Bearer ${signedIn.token}` } : {};
    },
    retryAttempts: Infinity,
    shouldRetry: () => true,
  });
  return client;
}

/** Follows a subscription: `onData` gets each pushed `data`. `variables()` is asked again on
 *  each (re)subscription, so a `since` can move on. A socket the gateway closes with 4401 (its
 *  token's life is over) subscribes again with a fresh token; any other failure, after a
 *  second. Returns a function that stops it. */
export function subscribe(query, variables, onData) {
  let stopped = false;
  let stop = () => {};
  const start = () => {
    stop = liveClient().subscribe(
      { query, variables: variables() },
      {
        next: ({ data }) => data && onData(data),
        error: (err) => {
          if (stopped) return;
          const expired = err?.code === 4401;
          if (expired) current = null;
          setTimeout(start, expired ? 0 : 1000);
        },
        complete: () => {},
      },
    );
  };
  start();
  return () => {
    stopped = true;
    stop();
  };
}

/** The header's account links: sign in and up, or the reader and sign out. */
function account(signedIn) {
  const signedOut = document.querySelector('[data-signed-out]');
  const signedInBox = document.querySelector('[data-signed-in]');
  if (!signedOut || !signedInBox) return;
  signedOut.hidden = Boolean(signedIn);
  signedInBox.hidden = !signedIn;
  const me = signedInBox.querySelector('[data-me]');
  if (signedIn && me) {
    me.textContent = signedIn.reader?.displayName ?? 'You';
    me.href = signedIn.reader?.url ?? '/';
  }
}

onSession(account);
document.querySelector('[data-sign-out]')?.addEventListener('click', async () => {
  await signOut();
  location.assign('/');
});

/** Asks whether the reader is signed in. A failure that is not an answer (the network, a busy
 *  gateway) is asked again, four times over about eight seconds, before the page shows the
 *  reader as signed out: a reader with a session must not be told to sign in by one lost reply.
 *  (A refresh token that was spent still answers "signed out" at once.) */
async function start(attempt = 0) {
  try {
    await session();
  } catch {
    if (attempt < 4) setTimeout(() => start(attempt + 1), 500 * 2 ** attempt);
    else keep(null);
  }
}

// Every page starts by asking whether its reader is signed in.
start();
