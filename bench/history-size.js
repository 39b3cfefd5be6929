// Size of the SQLite chat history ([history] backend = "sqlite") on disk: writes N channel
// messages (default 100,000: 100 channels, a typical 60-120 character line from a logged-in
// sender) through the backend into a fresh store file, one transaction per 100 messages as a busy
// tick would, and prints the file's size, the bytes per message and the extrapolation to a
// million messages, with the write time.
//   node bench/history-size.js [--messages 100000] [--dist dist]
import { rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from './lib/args.js';

const args = parseArgs(process.argv.slice(2));
const total = Number(args.messages ?? 100000);
const base = pathToFileURL(resolve(args.dist ?? 'dist')).href;
const { validateConfig } = await import(`${base}/src/config/load.js`);
const { SqlHistoryStore } = await import(`${base}/src/modules/history/sqlstore.js`);
const { caseFolder } = await import(`${base}/src/protocol/casemap.js`);
const { openStore } = await import(`${base}/src/store/db.js`);
const { newMsgid, relay } = await import(`${base}/src/server/outgoing.js`);
const { State } = await import(`${base}/src/server/state.js`);

const path = join(tmpdir(), `history-size-${process.pid}.db`);
const cfg = validateConfig(
  {
    listen: [{ port: 0 }],
    class: [{ name: 'c' }],
    allow: [{ mask: '*', class: 'c' }],
    history: { backend: 'sqlite', messages_per_target: 100000, max_db_bytes: 2 ** 40 },
  },
  'bench',
);
const db = openStore(path);
const store = new SqlHistoryStore(cfg.history, new State(caseFolder('rfc1459')), db, (err) => {
  throw err;
});
const words = 'the quick brown fox jumps over a lazy dog while someone types a reply about lunch plans'.split(' ');
const senders = Array.from({ length: 200 }, (_, i) => ({
  id: i + 1,
  account: `user${i}`,
  nick: `user${i}`,
  mask: `user${i}!~user${i}@user${i}.users.example.net`,
  modes: new Set(),
  moduleState: [],
}));
const started = performance.now();
for (let i = 0; i < total; i++) {
  const sender = senders[i % senders.length];
  const text = Array.from({ length: 10 + (i % 10) }, (_, j) => words[(i * 7 + j) % words.length]).join(' ');
  const channel = { name: `#channel${i % 100}` };
  store.recordChannel(channel, sender, relay(sender, { source: sender.mask, command: 'PRIVMSG', params: [channel.name, text] }, { msgid: newMsgid() }));
  if (i % 100 === 99) store.flush();
}
store.close();
const seconds = (performance.now() - started) / 1000;
db.pragma('wal_checkpoint(TRUNCATE)');
db.close();
const bytes = statSync(path).size;
for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
const result = {
  messages: total,
  fileBytes: bytes,
  bytesPerMessage: Math.round(bytes / total),
  perMillionMiB: Math.round(((bytes / total) * 1e6) / 2 ** 20),
  writeSeconds: Number(seconds.toFixed(2)),
  messagesPerSecond: Math.round(total / seconds),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
