// The daemon in this process (from a built dist/, `npm run build`) with clients whose sockets
// discard what they are sent: the server's own work per event, without the kernel's share.
// Lines reach a client through its Connection exactly as socket data would (framing included).
import { EventEmitter } from 'node:events';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { pino } from 'pino';

/** A socket that accepts every write and never closes. */
class NullSocket extends EventEmitter {
  remoteAddress = '127.0.0.1';
  remotePort = 1;
  writableLength = 0;
  destroyed = false;
  setNoDelay() {}
  write() {
    return true;
  }
  end() {}
  destroy() {}
}

/** Starts a server from `dist` (default: this checkout's dist/) with bench limits. */
export async function startInProcess(name, dist = 'dist') {
  const base = pathToFileURL(resolve(dist)).href;
  const { validateConfig } = await import(`${base}/src/config/load.js`);
  const { allModules } = await import(`${base}/src/modules/index.js`);
  const { Connection } = await import(`${base}/src/net/connection.js`);
  const { User } = await import(`${base}/src/server/user.js`);
  const { Server } = await import(`${base}/src/server/server.js`);
  const config = validateConfig(
    {
      server: { name: 'bench.local', network: 'BenchNet', max_clients: 1000000 },
      listen: [{ address: '127.0.0.1', port: 0 }],
      limits: { channels_per_user: 10 },
      class: [{ name: 'c', max_per_ip: 1000000, sendq: 1 << 30, recvq: 1 << 20, flood: { burst: 100000, rate: 1000000 } }],
      allow: [{ mask: '*', class: 'c' }],
      store: { path: ':memory:' },
      log: { level: 'silent' },
    },
    name,
  );
  const server = new Server(config, name, pino({ level: 'silent' }), allModules());
  await server.start(); // modules open their state; the listener on port 0 stays unused
  const klass = config.class[0];
  // Writes are batched per event-loop tick in the daemon; here each measured step ends with flushAll.
  // Listed once per tick by each Connection (on its first write), as in the daemon.
  let pending = [];
  let n = 0;
  // What a Connection is given to ask for its flush: a function in older builds, the server's
  // flush queue (scheduleFlush, flushIfLate) in newer ones; this one serves both.
  const flushes = Object.assign((c) => void pending.push(c), { flushIfLate() {} });
  flushes.scheduleFlush = flushes;
  return {
    server,
    flushAll() {
      const due = pending;
      pending = [];
      for (const c of due) c.flush();
    },
    /** A connected, unregistered client; `feed(text)` delivers bytes as its socket would. */
    connect() {
      const socket = new NullSocket();
      const conn = new Connection(socket, server, klass, server.lineLimits(), flushes);
      const client = User.connectedOn(conn, klass, () => server.name);
      server['sessionOf'].set(conn, client.sessions[0]);
      server.state.addClient(client);
      return { client, feed: (text) => socket.emit('data', Buffer.from(text)) };
    },
    /** A registered client with a fresh nick. */
    register() {
      const c = this.connect();
      c.nick = `m${n++}`;
      c.feed(`NICK ${c.nick}\r\nUSER u 0 * :bench\r\n`);
      this.flushAll();
      return c;
    },
  };
}
