// Daemons linked on loopback for the server-link tests: each test file gets its own set, stopped
// (leaves first) and its clients closed after every test.
import { afterEach, expect } from 'vitest';
import { hashPassword } from '../../src/auth/password.js';
import { client, startServer, waitUntil, type RawConfig, type TestClient, type TestServer } from './harness.js';

export const LINK_PASSWORD = 'linkpass';
export const OPER_PASSWORD = 'oper-pass';
const OPER_HASH = hashPassword(OPER_PASSWORD);
const HASH = hashPassword(LINK_PASSWORD);

export interface Peer {
  name: string;
  port?: number;
  autoconnect?: boolean;
  hub?: boolean;
  password?: string;
}

export type LinkedServer = TestServer & { serverPort: number };

/** Registers the cleanup and returns the helpers that start daemons and clients for it. */
export function linkHarness() {
  const running: TestServer[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    // Leaves first: a hub stopping last does not see its leaves relink.
    for (const s of running.splice(0).reverse()) await s.stop();
  });

  /** A daemon named `<name>.test` with SID `sid`, a client port, a server port, [[link]] blocks for `peers`, and an oper "root". */
  async function daemon(name: string, sid: string, peers: Peer[], patch: RawConfig = {}): Promise<LinkedServer> {
    const ts = await startServer({
      server: { name: `${name}.test`, network: 'TestNet', motd: 'motd.txt', sid },
      listen: [
        { address: '127.0.0.1', port: 0 },
        { address: '127.0.0.1', port: 0, servers: true },
      ],
      oper_class: [{ name: 'net', privileges: ['routing', 'kill', 'ban', 'wallops'] }],
      oper: [{ name: 'root', password: OPER_HASH, hosts: ['*@127.0.0.1'], class: 'net' }],
      link: peers.map((p) => ({
        name: `${p.name}.test`,
        address: '127.0.0.1',
        port: p.port ?? 1,
        send_password: p.password ?? LINK_PASSWORD,
        accept_password: HASH,
        autoconnect: p.autoconnect ?? false,
        retry: 1,
        hub: p.hub ?? false,
      })),
      ...patch,
    });
    running.push(ts);
    const listeners = [...ts.server.listeners.values()];
    return { ...ts, port: listeners.find((l) => !l.cfg.servers)!.port, serverPort: listeners.find((l) => l.cfg.servers)!.port };
  }

  async function linked(a: TestServer, b: TestServer, timeout = 5000): Promise<void> {
    const ok = await waitUntil(() => !!a.server.state.findServer(b.server.name) && !!b.server.state.findServer(a.server.name), timeout);
    expect(ok).toBe(true);
  }

  async function user(s: TestServer, nick: string, opts: Parameters<TestClient['register']>[1] = {}): Promise<TestClient> {
    const c = await client(s.port, nick, opts);
    clients.push(c);
    return c;
  }

  /** A user on `s` opered as "root". */
  async function oper(s: TestServer, nick: string): Promise<TestClient> {
    const op = await user(s, nick);
    op.send(`OPER root ${OPER_PASSWORD}`);
    await op.waitFor('381');
    return op;
  }

  /** Closes a client made elsewhere after the test too. */
  const track = (c: TestClient) => void clients.push(c);

  return { daemon, linked, user, oper, track };
}
