// A hostname lookup that outlives its connection: the lookup is held up here (the resolver
// answers only when the test says), so the client is surely gone when it ends.
import { describe, expect, it, vi } from 'vitest';
import { TestClient, waitUntil } from '../support/harness.js';
import { useSession } from '../support/session.js';

let answer: (name: string | undefined) => void = () => {};
vi.mock('../../src/net/dns.js', async (original) => ({
  ...(await original<typeof import('../../src/net/dns.js')>()),
  resolveHostname: () => new Promise<string | undefined>((resolve) => (answer = resolve)),
}));

const s = useSession();

describe('reverse DNS of a client that left', () => {
  it('ends quietly: the user has no session to ask for its connection any more', async () => {
    const srv = await s.start({ dns: { enabled: true, timeout: 5 } });
    const c = await TestClient.connect(srv.port);
    await c.waitFor((m) => m.command === 'NOTICE' && m.params[1] === '*** Looking up your hostname...');
    const gone = [...srv.server.state.clients].find((u) => !srv.server.state.isService(u));
    const lookup = gone!.hostLookup!;
    c.close();
    expect(await waitUntil(() => !srv.server.state.clients.has(gone!), 2000)).toBe(true);
    answer('late.example');
    await expect(lookup).resolves.toBeUndefined();
    expect(gone!.host).not.toBe('late.example');
  });
});
