#!/usr/bin/env node
// Node's own floor, for the figures docs/performance.md sets beside the daemon's: a server that
// does only what the bench's clients need and nothing an IRC server does. It accepts (TLS when
// run.js passes BENCH_SSLPROFILE=bench, with BENCH_TLS_CERT and BENCH_TLS_KEY), answers NICK/USER
// with a 001 line (and --welcome-bytes of 372 lines after it, the size of a welcome burst),
// PING with PONG, QUIT by closing, and holds every socket (no channels: the connect and mass-quit
// entries run against it, mass-quit-chan does not). Run it as run.js's server:
//
//   node bench/run.js --only connect,mass-quit --server-cmd "node bench/bare-server.js" [--tls full]
//   node bench/run.js --only connect --server-cmd "node bench/bare-server.js --welcome-bytes 3000"
//
// What it costs per idle client (RSS), per connection (CPU) and per closing client (CPU) is what
// Node 20 itself costs; the daemon's figures minus these are the daemon's own.
import { readFileSync } from 'node:fs';
import { createServer as createTcpServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { parseArgs } from './lib/args.js';

const args = parseArgs(process.argv.slice(2));
const port = Number(args.port ?? 6667);
const welcomeBytes = Number(args.welcomeBytes ?? 0);
const tls = process.env.BENCH_SSLPROFILE === 'bench';

const padLine = (i) => `:bare 372 * :- ${String(i).padStart(4, '0')} ${'x'.repeat(70)}\r\n`;
const pad = Array.from({ length: Math.ceil(welcomeBytes / padLine(0).length) }, (_, i) => padLine(i)).join('');

function onClient(socket) {
  socket.setNoDelay(true);
  let buf = '';
  let nick = '';
  socket.on('data', (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      const [command, ...params] = line.split(' ');
      if (command === 'NICK') nick = params[0] ?? '*';
      else if (command === 'USER') socket.write(`:bare 001 ${nick} :Welcome\r\n${pad}`);
      else if (command === 'PING') socket.write(`:bare PONG bare ${params.join(' ')}\r\n`);
      else if (command === 'QUIT') socket.end();
    }
  });
  socket.on('error', () => {});
}

const server = tls
  ? createTlsServer({ cert: readFileSync(process.env.BENCH_TLS_CERT), key: readFileSync(process.env.BENCH_TLS_KEY) }, onClient)
  : createTcpServer(onClient);
server.listen({ host: '127.0.0.1', port, backlog: 4096 });
process.on('SIGTERM', () => process.exit(0));
