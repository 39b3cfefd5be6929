// [[link]] blocks at REHASH (added, changed, removed), which servers a hub may introduce
// (hub_mask), and INVITE across a link: daemons linked on loopback.
import { describe, expect, it } from 'vitest';
import { waitUntil, type TestClient } from '../support/harness.js';
import { linkHarness } from '../support/link.js';

const { daemon, linked, user, oper, relink } = linkHarness();

const notice = (c: TestClient, text: string, from = 0) => c.waitFor((m) => m.command === 'NOTICE' && m.params[1]!.includes(text), { from });

describe('[[link]] blocks at REHASH', () => {
  it('drops the link of a removed block, refuses its retries, and links again when the block comes back', async () => {
    const a = await daemon('a', '1AA', [{ name: 'b' }]);
    const op = await oper(a, 'op');
    const b = await daemon('b', '2BB', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }]);
    await linked(a, b);
    const bob = await user(b, 'bob');
    await waitUntil(() => !!a.server.state.findNick('bob'), 3000);

    const removed = await relink(a, []);
    expect(removed).toEqual({ ok: true, needsRestart: [], warnings: [] });
    await notice(op, 'Link with b.test dropped: its [[link]] block was removed');
    // The network splits: B's users leave A, with the two servers' names as reason.
    expect(await waitUntil(() => !a.server.state.findServer('b.test') && !b.server.state.findServer('a.test'), 3000)).toBe(true);
    expect(a.server.state.findNick('bob')).toBeUndefined();
    // B still retries every second; A has no block for it any more.
    const mark = op.mark;
    await notice(op, 'Link from [127.0.0.1] refused: no [[link]] block has this address', mark);
    expect(a.server.state.findServer('b.test')).toBeUndefined();

    await relink(a, [{ name: 'b' }]);
    await linked(a, b);
    expect(await waitUntil(() => !!a.server.state.findNick('bob'), 3000)).toBe(true);
    bob.send('QUIT');
  });

  it('starts connecting for a block added with autoconnect; a changed password applies to the next handshake', async () => {
    const a = await daemon('a', '1AA', [{ name: 'b' }]);
    const op = await oper(a, 'op');
    const b = await daemon('b', '2BB', [{ name: 'a', port: a.serverPort, hub: true }]);
    expect(a.server.state.findServer('b.test')).toBeUndefined();
    await relink(b, [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }]);
    await linked(a, b);

    // A new password for B's block on A: the link that is up stays.
    await relink(b, [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true, password: 'changed' }]);
    expect(b.server.state.findServer('a.test')).toBeDefined();
    // Its next handshake sends the new one, which A refuses.
    const mark = op.mark;
    op.send('SQUIT b.test :test');
    await notice(op, 'Link with b.test[127.0.0.1] refused: Bad password for b.test', mark);
    // Back to the right one: the next retry links.
    await relink(b, [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }]);
    await linked(a, b);
  });
});

describe('hub_mask', () => {
  it('drops a hub that introduces a server matching none of its masks, with a clear reason; a matching mask lets it link', async () => {
    // C takes B as its hub (B brings A to it); A takes B as a hub of servers named hub*.test only.
    const c = await daemon('c', '3CC', [{ name: 'b', hub: true }]);
    const b = await daemon('b', '2BB', [{ name: 'c', port: c.serverPort, autoconnect: true }]);
    await linked(b, c);
    const a = await daemon('a', '1AA', [{ name: 'b', hub: true, hubMask: ['hub*.test', 'b.test'] }]);
    const op = await oper(a, 'op');
    // B links to A and, in its burst, introduces C behind it.
    await relink(b, [
      { name: 'c', port: c.serverPort, autoconnect: true },
      { name: 'a', port: a.serverPort, autoconnect: true, hub: true },
    ]);
    await notice(op, 'Link with b.test[127.0.0.1] refused: b.test may not introduce c.test: it matches no hub_mask of its [[link]] block');
    expect(a.server.state.findServer('c.test')).toBeUndefined();
    expect(await waitUntil(() => !a.server.state.findServer('b.test'), 3000)).toBe(true);

    await relink(a, [{ name: 'b', hub: true, hubMask: ['*.test'] }]);
    await linked(a, b);
    await linked(a, c);
  });
});

describe('INVITE across a link', () => {
  it('lets a user of another server past +i, shows it the INVITE, and tells the operators of every server (invite-notify)', async () => {
    const a = await daemon('a', '1AA', [{ name: 'b' }]);
    const b = await daemon('b', '2BB', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }]);
    await linked(a, b);
    const alice = await user(a, 'alice');
    const carol = await user(a, 'carol');
    const dave = await user(b, 'dave', { caps: ['invite-notify'] });
    const bob = await user(b, 'bob');
    alice.send('JOIN #secret');
    await alice.waitFor('366');
    alice.send('MODE #secret +i');
    await alice.waitFor((m) => m.command === 'MODE' && m.params[1] === '+i');
    await waitUntil(() => b.server.state.findChannel('#secret')?.flags.has('i') === true, 3000);

    // Dave, on B, is refused by +i until Alice invites him from A.
    dave.send('JOIN #secret');
    expect((await dave.waitFor('473')).params[1]).toBe('#secret');
    alice.send('INVITE dave #secret');
    expect((await alice.waitFor('341')).params.slice(1)).toEqual(['dave', '#secret']);
    const invite = await dave.waitFor('INVITE');
    expect(invite.source).toMatch(/^alice!/);
    expect(invite.params).toEqual(['dave', '#secret']);
    dave.send('JOIN #secret');
    await dave.waitFor('366');
    await alice.waitFor((m) => m.command === 'JOIN' && m.source?.startsWith('dave!') === true);
    alice.send('MODE #secret +o dave');
    await dave.waitFor((m) => m.command === 'MODE' && m.params[1] === '+o');

    // Bob, on B too: Dave, an operator on the target's server, hears of the invite.
    alice.send('INVITE bob #secret');
    expect((await bob.waitFor('INVITE')).params).toEqual(['bob', '#secret']);
    const told = await dave.waitFor((m) => m.command === 'INVITE' && m.params[0] === 'bob');
    expect(told.source).toMatch(/^alice!/);
    bob.send('JOIN #secret');
    await bob.waitFor('366');
    expect(await waitUntil(() => a.server.state.findChannel('#secret')!.members.has(a.server.state.findNick('bob')!), 3000)).toBe(true);

    // Carol, on A: an invite of A's own user is told to B's operators (ENCAP INVITED).
    alice.send('INVITE carol #secret');
    expect((await carol.waitFor('INVITE')).params).toEqual(['carol', '#secret']);
    const notified = await dave.waitFor((m) => m.command === 'INVITE' && m.params[0] === 'carol');
    expect(notified.source).toMatch(/^alice!/);
    // Her invite was kept on A, her own server: she gets past +i.
    carol.send('JOIN #secret');
    await carol.waitFor('366');
  });
});
