// Daemons linked on loopback for the server-link tests: a daemon with a client port, a server
// port and [[link]] blocks (linkDaemon), and a harness that stops each test file's daemons
// (leaves first) and closes its clients after every test.
import { afterEach, expect } from 'vitest';
import { hashPassword } from '../../src/auth/password.js';
import { writeFileSync } from 'node:fs';
import type { RehashResult } from '../../src/server/rehash.js';
import { client, startServer, testConfig, toToml, waitUntil, type RawConfig, type TestClient, type TestServer } from './harness.js';
import type { CertFiles } from './tls.js';

export const LINK_PASSWORD = 'linkpass';
export const OPER_PASSWORD = 'oper-pass';
const OPER_HASH = hashPassword(OPER_PASSWORD);
const HASH = hashPassword(LINK_PASSWORD);

export type LinkedServer = TestServer & { serverPort: number };

/** A [[link]] block for `name` with the test password both ways. */
export function linkBlock(name: string, extra: RawConfig = {}): RawConfig {
  return { name, address: '127.0.0.1', port: 1, send_password: LINK_PASSWORD, accept_password: HASH, retry: 1, ...extra };
}

/** A daemon named `name` with SID `sid`, a client listener, a server listener (TLS with `cert`) and these [[link]] blocks. */
export async function linkDaemon(name: string, sid: string, links: RawConfig[], patch: RawConfig = {}, cert?: CertFiles): Promise<LinkedServer> {
  const ts = await startServer(linkDaemonConfig(name, sid, links, patch, cert));
  const listeners = [...ts.server.listeners.values()];
  return { ...ts, port: listeners.find((l) => !l.cfg.servers)!.port, serverPort: listeners.find((l) => l.cfg.servers)!.port };
}

/** The config of linkDaemon (its listeners on port 0 stay the ones opened when it is written again for a REHASH). */
function linkDaemonConfig(name: string, sid: string, links: RawConfig[], patch: RawConfig, cert: CertFiles | undefined): RawConfig {
  return {
    server: { name, network: 'TestNet', motd: 'motd.txt', sid },
    listen: [
      { address: '127.0.0.1', port: 0 },
      { address: '127.0.0.1', port: 0, servers: true, ...(cert ? { tls: cert } : {}) },
    ],
    link: links,
    ...patch,
  };
}

/** Whether both know each other within `timeout` ms. */
export function linkedWithin(a: TestServer, b: TestServer, timeout = 5000): Promise<boolean> {
  return waitUntil(() => !!a.server.state.findServer(b.server.name) && !!b.server.state.findServer(a.server.name), timeout);
}

export interface Peer {
  name: string;
  port?: number;
  autoconnect?: boolean;
  hub?: boolean;
  password?: string;
  retry?: number;
  tls?: boolean;
  fingerprint?: string;
  hubMask?: string[];
}

function blocksFor(peers: Peer[]): RawConfig[] {
  return peers.map((p) =>
    linkBlock(`${p.name}.test`, {
      port: p.port ?? 1,
      send_password: p.password ?? LINK_PASSWORD,
      autoconnect: p.autoconnect ?? false,
      hub: p.hub ?? false,
      retry: p.retry ?? 1,
      tls: p.tls ?? false,
      ...(p.fingerprint ? { fingerprint: p.fingerprint } : {}),
      ...(p.hubMask ? { hub_mask: p.hubMask } : {}),
    }),
  );
}

/** Registers the cleanup and returns the helpers that start daemons and clients for it. */
export function linkHarness() {
  const running: TestServer[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    // Leaves first: a hub stopping last does not see its leaves relink.
    for (const s of running.splice(0).reverse()) await s.stop();
  });

  /** How each daemon's config is written again with other [[link]] blocks (relink). */
  const configs = new Map<TestServer, (peers: Peer[]) => RawConfig>();

  /** A daemon named `<name>.test` with SID `sid`, a client port, a server port, [[link]] blocks for `peers`, and an oper "root". */
  async function daemon(name: string, sid: string, peers: Peer[], patch: RawConfig = {}, cert?: CertFiles): Promise<LinkedServer> {
    const full = {
      oper_class: [{ name: 'net', privileges: ['routing', 'kill', 'ban', 'wallops'] }],
      oper: [{ name: 'root', password: OPER_HASH, hosts: ['*@127.0.0.1'], class: 'net' }],
      ...patch,
    };
    const ts = await linkDaemon(`${name}.test`, sid, blocksFor(peers), full, cert);
    running.push(ts);
    configs.set(ts, (next) => testConfig(linkDaemonConfig(`${name}.test`, sid, blocksFor(next), full, cert)));
    return ts;
  }

  /** Writes the daemon's config again with [[link]] blocks for `peers` and REHASHes it. */
  async function relink(s: TestServer, peers: Peer[]): Promise<RehashResult> {
    writeFileSync(s.configPath, toToml(configs.get(s)!(peers)));
    return s.server.rehash('test');
  }

  async function linked(a: TestServer, b: TestServer, timeout = 5000): Promise<void> {
    expect(await linkedWithin(a, b, timeout)).toBe(true);
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

  /** A hub A (1AA) with leaves B (2BB) and C (3CC), linked: B and C reach each other through A. */
  async function hubWithLeaves(): Promise<{ a: LinkedServer; b: LinkedServer; c: LinkedServer }> {
    const a = await daemon('a', '1AA', [{ name: 'b' }, { name: 'c' }]);
    const b = await daemon('b', '2BB', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }]);
    const c = await daemon('c', '3CC', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }]);
    await linked(a, b);
    await linked(a, c);
    await linked(b, c);
    return { a, b, c };
  }

  /** Closes a client made elsewhere after the test too. */
  const track = (c: TestClient) => void clients.push(c);

  return { daemon, linked, hubWithLeaves, user, oper, track, relink };
}
