// Test support for server links: daemons with a client port, a server port and [[link]] blocks.
import { hashPassword } from '../../src/auth/password.js';
import { startServer, waitUntil, type RawConfig, type TestServer } from './harness.js';

export const LINK_PASSWORD = 'linkpass';
const HASH = hashPassword(LINK_PASSWORD);

export type LinkedServer = TestServer & { serverPort: number };

/** A [[link]] block for `name` with the test password both ways. */
export function linkBlock(name: string, extra: RawConfig = {}): RawConfig {
  return { name, address: '127.0.0.1', port: 1, send_password: LINK_PASSWORD, accept_password: HASH, retry: 1, ...extra };
}

/** A daemon named `name` with SID `sid`, a client listener, a server listener and these [[link]] blocks. */
export async function linkDaemon(name: string, sid: string, links: RawConfig[], patch: RawConfig = {}): Promise<LinkedServer> {
  const ts = await startServer({
    server: { name, network: 'TestNet', motd: 'motd.txt', sid },
    listen: [
      { address: '127.0.0.1', port: 0 },
      { address: '127.0.0.1', port: 0, servers: true },
    ],
    link: links,
    ...patch,
  });
  const listeners = [...ts.server.listeners.values()];
  return { ...ts, port: listeners.find((l) => !l.cfg.servers)!.port, serverPort: listeners.find((l) => l.cfg.servers)!.port };
}

/** Whether both know each other within `timeout` ms. */
export function linkedWithin(a: TestServer, b: TestServer, timeout = 5000): Promise<boolean> {
  return waitUntil(() => !!a.server.state.findServer(b.server.name) && !!b.server.state.findServer(a.server.name), timeout);
}
