// A netsplit of thousands of users (issue #22, "Mass disconnects"): the hub applies it a slice
// per event-loop turn, so its clients are answered while the quits go on, and lines from its
// other links wait until the split is done, so none meets a half-split network.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md ("SQUIT", netsplits)
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/protocol/message.js';
import { waitUntil } from '../support/harness.js';
import { FakeLink } from '../support/fakelink.js';
import { linkHarness } from '../support/link.js';

const { daemon, user } = linkHarness();

const USERS = 3000;
const uidOf = (i: number) => `9FFA${String(i).padStart(5, '0')}`;

describe('a netsplit of thousands of users', () => {
  it('is applied over several turns: clients are answered meanwhile, and other links wait for its end', async () => {
    const a = await daemon('a', '1AA', [{ name: 'f' }, { name: 'e' }]);
    const now = Math.floor(Date.now() / 1000);
    const f = await FakeLink.open(a.serverPort, { name: 'f.test', sid: '9FF', peer: 'a.test' });
    const uids = Array.from({ length: USERS }, (_, i) => uidOf(i));
    const joins: string[] = [];
    for (let i = 0; i < USERS; i += 40) joins.push(`:9FF SJOIN ${now - 1000} #big + :${uids.slice(i, i + 40).join(' ')}`);
    f.write([...uids.map((uid, i) => `:9FF EUID f${i} 1 ${now - 100} +i f${i} f.host 127.0.0.9 ${uid} f.host * :F user`), ...joins]);
    expect(await f.sync()).toBe(true);
    const e = await FakeLink.open(a.serverPort, { name: 'e.test', sid: '8EE', peer: 'a.test' });
    expect(await e.sync()).toBe(true);

    const bystander = await user(a, 'bystander');
    bystander.send('JOIN #big');
    await bystander.waitFor('366', { timeout: 10000 });
    const from = bystander.mark;
    f.close();
    await bystander.waitFor('QUIT', { from, timeout: 10000 });
    // The split has begun. The bystander asks something, and E introduces a user with the nick of
    // F's last user (the last to quit): applied before the split's end, it would meet that user.
    bystander.send('PING :during');
    e.write([`:8EE EUID f${USERS - 1} 1 ${now} + e e.host 127.0.0.8 8EEAAAAAA e.host * :E user`]);

    const quits = () => bystander.lines.slice(from).filter((l) => parseMessage(l).command === 'QUIT');
    expect(await waitUntil(() => quits().length === USERS, 20000)).toBe(true);
    const pong = await bystander.waitFor((m) => m.command === 'PONG' && m.params[1] === 'during', { from, timeout: 10000 });
    expect(pong.params[1]).toBe('during');
    const pongAt = bystander.cursor - 1;
    let lastQuitAt = bystander.lines.length - 1;
    while (parseMessage(bystander.lines[lastQuitAt]!).command !== 'QUIT') lastQuitAt--;
    // Answered in the middle of the quits, not after all of them.
    expect(pongAt).toBeLessThan(lastQuitAt);
    expect(new Set(quits().map((l) => parseMessage(l).params[0]))).toEqual(new Set(['a.test f.test']));

    // E's line waited for the split: its user has the nick, neither killed nor renamed.
    expect(await e.sync()).toBe(true);
    const taken = a.server.state.findNick(`f${USERS - 1}`);
    expect(taken && a.server.state.serverOf(taken).name).toBe('e.test');
    expect(e.lines.some((l) => / (KILL|SAVE) 8EEAAAAAA/.test(l))).toBe(false);
    expect(a.server.state.findServer('f.test')).toBeUndefined();
  });
});
