// make bench: the live-push bench's clients as a Node app holds them, with graphql-ws (the
// client most web apps use) over ws. Run by readstream-live-bench --node; it speaks the same
// plan as the bench's own Rust clients (`--load` in tests/bench/live.rs):
//   node clients.mjs <plan.json> <clients> [workers]
// opens <clients> WebSockets, each with the plan's one subscription (its first item read when
// the subscription sends one), prints {"seconds"} on stdout, then on a line from stdin plays
// the plan's rounds (its mutation each, through POST /graphql) and prints the pushes' timings:
// {"delivered", "p50_ms", "p99_ms", "max_ms", "cpu_seconds"}.
//
// The sockets are spread over <workers> processes (node:cluster, default 2, one per core as the
// Rust clients' threads are): one Node thread parsing 15,000 frames a push took longer than
// the gateway sending them. Each worker notes when each push arrives (on the clock all
// processes share) and, told a round's position and when its rating was sent, answers with
// its sockets' latencies.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const OPENING_AT_ONCE = 100;
const PUSH_TIMEOUT_MS = 30_000;

const [planFile, count, workerCount = '2'] = process.argv.slice(2);
const plan = JSON.parse(readFileSync(planFile, 'utf8'));
const clients = Number(count);
const workers = Math.max(1, Number(workerCount));

/// Milliseconds on a clock every process of this machine shares.
const now = () => performance.timeOrigin + performance.now();
const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

if (cluster.isPrimary) {
  await primary();
} else {
  await worker(Number(process.env.WORKER_INDEX));
}

async function primary() {
  const started = now();
  const forked = [];
  for (let index = 0; index < workers; index++) {
    forked.push(cluster.fork({ WORKER_INDEX: String(index) }));
  }
  // Each worker's next message, in order.
  const inboxes = forked.map((child) => {
    const waiting = [];
    const kept = [];
    child.on('message', (message) => (waiting.length ? waiting.shift()(message) : kept.push(message)));
    child.on('exit', (code) => {
      if (code !== 0) {
        console.error(`a clients' worker ended with ${code}`);
        process.exit(1);
      }
    });
    return () => new Promise((resolve) => (kept.length ? resolve(kept.shift()) : waiting.push(resolve)));
  });
  await Promise.all(inboxes.map((next) => next()));
  // A subscription with no snapshot says nothing once it is live: give the last ones time.
  if (!plan.snapshot) await new Promise((done) => setTimeout(done, 2_000));
  console.log(JSON.stringify({ seconds: (now() - started) / 1e3 }));

  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  await lines.next();
  const cpu = cpuSeconds();
  for (const child of forked) child.send({ go: true });
  const latencies = [];
  let workersCpu = 0;
  for (const [round, [rater, book]] of plan.rounds.entries()) {
    const sent = now();
    const rated = await fetch(`${plan.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${rater}` },
      body: JSON.stringify({ query: plan.mutation, variables: { b: book } }),
    }).then((response) => response.json());
    const position = plan.mutation_position.split('/').slice(1).reduce((value, key) => value?.[key], rated?.data);
    if (position === undefined) throw new Error(`round ${round}: ${JSON.stringify(rated)}`);
    for (const child of forked) child.send({ round, position, sent });
    for (const answer of await Promise.all(inboxes.map((next) => next()))) {
      if (answer.missing) {
        throw new Error(`round ${round}: ${answer.missing} subscribers got no push within ${PUSH_TIMEOUT_MS} ms`);
      }
      latencies.push(...answer.latencies);
      workersCpu += answer.cpu;
    }
  }
  latencies.sort((a, b) => a - b);
  const at = (q) => Math.round(latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)] * 10) / 10;
  console.log(
    JSON.stringify({
      delivered: latencies.length,
      p50_ms: at(0.5),
      p99_ms: at(0.99),
      max_ms: at(1),
      cpu_seconds: cpuSeconds() - cpu + workersCpu,
    }),
  );
  for (const child of forked) child.kill();
  process.exit(0);
}

async function worker(index) {
  const wsUrl = `${plan.url.replace(/^http/, 'ws')}/graphql`;
  const pointer = plan.position.split('/').slice(1);
  const mine = [];
  for (let n = index; n < clients; n += workers) mine.push(n);
  // Each push: its position and when it came.
  const arrivals = [];
  let arrived = () => {};

  const open = (n) =>
    new Promise((resolve, reject) => {
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
            arrivals.push([Number(position), now()]);
            arrived();
          },
          error: (err) => reject(err instanceof Error ? err : new Error(JSON.stringify(err))),
          complete: () => {},
        },
      );
      if (!plan.snapshot) client.on('connected', ready);
    });

  for (let n = 0; n < mine.length; n += OPENING_AT_ONCE) {
    await Promise.all(mine.slice(n, n + OPENING_AT_ONCE).map(open));
  }
  process.send({ opened: mine.length });

  let read = 0;
  // This worker's CPU from "go" on, reported with each round's answer.
  let cpu = 0;
  process.on('message', async ({ go, position, sent }) => {
    if (go) {
      cpu = cpuSeconds();
      return;
    }
    const latencies = [];
    const deadline = sent + PUSH_TIMEOUT_MS;
    while (latencies.length < mine.length && now() < deadline) {
      for (; read < arrivals.length; read++) {
        const [pushed, at] = arrivals[read];
        if (pushed === position) latencies.push(at - sent);
      }
      if (latencies.length < mine.length) {
        await new Promise((done) => {
          arrived = done;
          setTimeout(done, 100);
        });
      }
    }
    const used = cpuSeconds() - cpu;
    cpu += used;
    process.send({ latencies, missing: mine.length - latencies.length, cpu: used });
  });
}
