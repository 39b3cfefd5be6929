// Mass disconnects: hundreds of clients leaving in one tick are worked through a slice per
// event-loop turn (src/net/budget.ts). Every remaining peer still sees each QUIT exactly once,
// with its reason; afterwards the nick, channel and membership indexes hold no trace of them, the
// metrics counted every disconnect, and their nicks are free again.
import { describe, expect, it } from 'vitest';
import { TestClient, waitUntil } from '../support/harness.js';
import { useSession } from '../support/session.js';

const s = useSession();
const N = 300;

describe('many clients leaving at once', () => {
  it('delivers each QUIT once to a remaining peer and leaves the state consistent', async () => {
    await s.start({
      class: [{ name: 'default', max_per_ip: 1000, flood: { burst: 1000, rate: 1000 }, connect_rate: { count: 10000, seconds: 1 } }],
    });
    const server = s.srv.server;
    const watcher = await s.connect('watcher');
    watcher.send('JOIN #crowd,#side');
    await watcher.waitFor((m) => m.command === '366' && m.params[1] === '#side');

    // Every leaver shares both channels with the watcher: still one QUIT each.
    const leavers: TestClient[] = [];
    for (let batch = 0; batch < N; batch += 50) {
      const made = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const c = await TestClient.connect(s.srv.port);
          await c.register(`q${batch + i}`);
          c.send('JOIN #crowd,#side');
          await c.waitFor((m) => m.command === '366' && m.params[1] === '#side');
          return c;
        }),
      );
      leavers.push(...made.map((c) => s.track(c)));
    }
    await watcher.collectUntilPong();
    const from = watcher.lines.length;
    const closedBefore = server.stats.disconnects.closed;
    const quitBefore = server.stats.disconnects.quit;

    // All in one turn of this event loop: half send QUIT and FIN, half just drop the connection.
    leavers.forEach((c, i) => (i % 2 === 0 ? c.socket.end('QUIT :bye\r\n') : c.socket.destroy()));

    const quits = () => watcher.lines.slice(from).filter((l) => / QUIT /.test(l));
    expect(await waitUntil(() => quits().length >= N, 10000)).toBe(true);
    await watcher.collectUntilPong();
    const lines = quits();
    expect(lines).toHaveLength(N);
    const byNick = new Map<string, string>();
    for (const line of lines) {
      const m = /^:(q\d+)!\S+ QUIT :(.*)$/.exec(line)!;
      expect(byNick.has(m[1]!)).toBe(false);
      byNick.set(m[1]!, m[2]!);
    }
    for (let i = 0; i < N; i++) expect(byNick.get(`q${i}`)).toBe(i % 2 === 0 ? 'Quit: bye' : 'Connection closed');

    expect(server.state.registeredCount).toBe(1);
    expect([...server.state.clients].filter((c) => !server.state.isService(c)).map((c) => c.nick)).toEqual(['watcher']);
    for (let i = 0; i < N; i++) expect(server.state.findNick(`q${i}`)).toBeUndefined();
    for (const name of ['#crowd', '#side']) expect([...server.state.findChannel(name)!.members.keys()].map((c) => c.nick)).toEqual(['watcher']);
    expect(server.stats.disconnects.quit - quitBefore).toBe(N / 2);
    expect(server.stats.disconnects.closed - closedBefore).toBe(N / 2);

    const names = await watcher.ask('NAMES #crowd');
    expect(names.find((m) => m.command === '353')!.params[3]).toBe('@watcher');
    // A leaver's nick is free again for whoever comes next.
    const back = await s.connect('q0');
    expect(back.lines.some((l) => / 001 q0 /.test(l))).toBe(true);
  });
});
