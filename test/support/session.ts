// One server and its clients per test, torn down after each test.
import { afterEach } from 'vitest';
import { client, startServer, TestClient, type RawConfig, type TestServer } from './harness.js';

export interface Session {
  start(patch?: RawConfig): Promise<TestServer>;
  connect(nick: string, opts?: Parameters<typeof client>[2]): Promise<TestClient>;
  /** Connects without registering. */
  raw(): Promise<TestClient>;
  /** Closes a client made elsewhere (a TestClient, a TestWebSocket…) after the test too. */
  track<C extends { close(): void }>(c: C): C;
  readonly srv: TestServer;
}

/** Call at the top level of a test file; each test then starts its own server. */
export function useSession(): Session {
  let srv: TestServer | undefined;
  const open: Array<{ close(): void }> = [];
  afterEach(async () => {
    for (const c of open.splice(0)) c.close();
    await srv?.stop();
    srv = undefined;
  });
  return {
    async start(patch = {}) {
      srv = await startServer(patch);
      return srv;
    },
    async connect(nick, opts = {}) {
      const c = await client(srv!.port, nick, opts);
      open.push(c);
      return c;
    },
    async raw() {
      const c = await TestClient.connect(srv!.port);
      open.push(c);
      return c;
    },
    track(c) {
      open.push(c);
      return c;
    },
    get srv() {
      return srv!;
    },
  };
}
