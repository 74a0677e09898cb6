// make bench: the live-push bench's clients as a Node app holds them, with graphql-ws (the
// client most web apps use) over ws. Run by readstream-live-bench --node; it speaks the same
// plan as the bench's own Rust clients (`--load` in tests/bench/live.rs):
//   node clients.mjs <plan.json> <clients>
// opens <clients> WebSockets, each with the plan's one subscription (its first item read when
// the subscription sends one), prints {"seconds"} on stdout, then on a line from stdin plays
// the plan's rounds (a rating each, through POST /graphql) and prints the pushes' timings:
// {"delivered", "p50_ms", "p99_ms", "max_ms", "cpu_seconds"}.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const OPENING_AT_ONCE = 200;
const PUSH_TIMEOUT_MS = 30_000;

const [planFile, count] = process.argv.slice(2);
const plan = JSON.parse(readFileSync(planFile, 'utf8'));
const clients = Number(count);
const wsUrl = `${plan.url.replace(/^http/, 'ws')}/graphql`;
const pointer = plan.position.split('/').slice(1);

const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

// Each push: its position and when it came.
const arrivals = [];
let arrived = () => {};

function open(n) {
  return new Promise((resolve, reject) => {
    const token = plan.viewers[n];
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: token ? { Authorization: `Bearer ${token}` } : {},
      retryAttempts: 0,
      lazy: false,
    });
    let first = true;
    const ready = () => {
      if (first) {
        first = false;
        resolve(client);
      }
    };
    client.subscribe(
      { query: plan.subscription, variables: plan.variables },
      {
        next: (item) => {
          if (item.errors) return reject(new Error(JSON.stringify(item.errors)));
          if (first && plan.snapshot) return ready();
          const position = pointer.reduce((value, key) => value?.[key], item.data);
          arrivals.push([Number(position), performance.now()]);
          arrived();
        },
        error: (err) => reject(err instanceof Error ? err : new Error(JSON.stringify(err))),
        complete: () => {},
      },
    );
    if (!plan.snapshot) client.on('connected', ready);
  });
}

const started = performance.now();
for (let n = 0; n < clients; n += OPENING_AT_ONCE) {
  const batch = [];
  for (let k = n; k < Math.min(clients, n + OPENING_AT_ONCE); k++) batch.push(open(k));
  await Promise.all(batch);
}
// A subscription with no snapshot says nothing once it is live: give the last ones time.
if (!plan.snapshot) await new Promise((done) => setTimeout(done, 2_000));
console.log(JSON.stringify({ seconds: (performance.now() - started) / 1e3 }));

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
await lines.next();

const cpu = cpuSeconds();
const latencies = [];
for (const [round, [rater, book]] of plan.rounds.entries()) {
  arrivals.length = 0;
  const sent = performance.now();
  const rated = await fetch(`${plan.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${rater}` },
    body: JSON.stringify({
      query: 'mutation($b: ID!) { rateBook(bookId: $b, stars: 4) { position } }',
      variables: { b: book },
    }),
  }).then((response) => response.json());
  const position = rated?.data?.rateBook?.position;
  if (position === undefined) throw new Error(`round ${round}: ${JSON.stringify(rated)}`);
  const deadline = sent + PUSH_TIMEOUT_MS;
  let delivered = 0;
  let read = 0;
  while (delivered < clients && performance.now() < deadline) {
    for (; read < arrivals.length; read++) {
      const [pushed, at] = arrivals[read];
      if (pushed === position) {
        latencies.push(at - sent);
        delivered++;
      }
    }
    if (delivered < clients) {
      await new Promise((done) => {
        arrived = done;
        setTimeout(done, 100);
      });
    }
  }
  if (delivered < clients) {
    throw new Error(`round ${round}: ${delivered} of ${clients} subscribers got the push in time`);
  }
}
latencies.sort((a, b) => a - b);
const at = (q) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] * 10) / 10;
console.log(
  JSON.stringify({
    delivered: latencies.length,
    p50_ms: at(0.5),
    p99_ms: at(0.99),
    max_ms: at(1),
    cpu_seconds: cpuSeconds() - cpu,
  }),
);
process.exit(0);
