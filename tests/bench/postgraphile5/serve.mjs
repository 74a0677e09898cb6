// PostGraphile 5 (Grafast) as `make bench` runs it beside the gateway: the Amber preset with
// V4's naming (so the peer's queries are the same as PostGraphile 4's), over the read models'
// `public` schema, told the relations the gateway's resolvers follow by the same tags file as
// PostGraphile 4 (`../postgraphile/postgraphile.tags.json5`). Version 5's CLI has no cluster
// mode, so this forks WORKERS processes that share one listening port (node:cluster).
//
// Environment: DATABASE_URL, PORT, WORKERS (default 1), POOL_SIZE (Postgres connections per
// worker, default 10). Run with Node >= 22 (deploy/local/install-node.sh).
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { makeV4Preset } from 'postgraphile/presets/v4';
import { pgSmartTagsFromFile } from 'postgraphile/utils';

const workers = Number(process.env.WORKERS ?? 1);
const port = Number(process.env.PORT);
if (!process.env.DATABASE_URL || !port) {
  console.error('serve.mjs: set DATABASE_URL and PORT');
  process.exit(2);
}

if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i += 1) cluster.fork();
  // A worker that dies ends the run: a bench must not measure fewer workers than it says.
  cluster.on('exit', () => process.exit(1));
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM');
      process.exit(0);
    });
  }
} else {
  const tags = fileURLToPath(new URL('../postgraphile/postgraphile.tags.json5', import.meta.url));
  const preset = {
    extends: [PostGraphileAmberPreset, makeV4Preset({ disableDefaultMutations: true })],
    plugins: [pgSmartTagsFromFile(tags)],
    pgServices: [
      makePgService({
        connectionString: process.env.DATABASE_URL,
        schemas: ['public'],
        poolConfig: { max: Number(process.env.POOL_SIZE ?? 10) },
      }),
    ],
    grafserv: { port, host: '127.0.0.1', graphiql: false, websockets: false },
    grafast: { explain: false },
  };
  const pgl = postgraphile(preset);
  const serv = pgl.createServ(grafserv);
  const server = createServer();
  server.on('error', (err) => {
    console.error(err);
    process.exit(1);
  });
  await serv.addTo(server);
  server.listen(port, '127.0.0.1');
}
