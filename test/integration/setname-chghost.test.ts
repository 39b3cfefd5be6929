// IRCv3 setname and chghost: who sees SETNAME/CHGHOST, the reconnect fallback, and errors.
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/protocol/message.js';
import { putInChannel, serverClient } from '../support/state.js';
import { useSession } from '../support/session.js';

const s = useSession();

describe('SETNAME', () => {
  it('confirms to the user and peers holding the cap; others see nothing; WHOIS shows the new name', async () => {
    await s.start();
    const a = await s.connect('alice', { caps: ['setname'] });
    const peer = await s.connect('bob', { caps: ['setname'] });
    const plain = await s.connect('carol');
    const srv = s.srv.server;
    for (const n of ['alice', 'bob', 'carol']) putInChannel(srv, n, '#c');
    expect(a.lines.filter((l) => l.split(' ')[1] === '005').join(' ')).toContain(' NAMELEN=150 ');
    a.send('SETNAME :Alice in Wonderland');
    const echo = await a.waitFor('SETNAME');
    expect([echo.source, ...echo.params]).toEqual(['alice!alice@127.0.0.1', 'Alice in Wonderland']);
    expect((await peer.waitFor('SETNAME')).params).toEqual(['Alice in Wonderland']);
    expect((await plain.collectUntilPong()).map((m) => m.command)).toEqual([]);
    plain.send('WHOIS alice');
    expect((await plain.waitFor('311')).params[5]).toBe('Alice in Wonderland');
  });

  it('changes silently for a user without the cap', async () => {
    await s.start();
    const a = await s.connect('alice');
    a.send('SETNAME :Quiet');
    expect((await a.collectUntilPong()).map((m) => m.command)).toEqual([]);
    expect(serverClient(s.srv.server, 'alice').realname).toBe('Quiet');
  });

  it('refuses empty and too long names with FAIL SETNAME INVALID_REALNAME', async () => {
    await s.start({ limits: { realnamelen: 10 } });
    const a = await s.connect('alice', { caps: ['setname'] });
    a.send('SETNAME :');
    expect((await a.waitFor('FAIL')).params.slice(0, 2)).toEqual(['SETNAME', 'INVALID_REALNAME']);
    a.send('SETNAME :01234567890');
    expect((await a.waitFor('FAIL')).params.slice(0, 2)).toEqual(['SETNAME', 'INVALID_REALNAME']);
    a.send('SETNAME');
    expect((await a.waitFor('461')).params.slice(1, 2)).toEqual(['SETNAME']);
    expect(serverClient(s.srv.server, 'alice').realname).toBe('Test User');
  });
});

describe('chghost', () => {
  it('shows CHGHOST to holders of the cap and QUIT, JOIN and MODE to the others', async () => {
    await s.start();
    const a = await s.connect('alice', { caps: ['chghost'] });
    const withCap = await s.connect('bob', { caps: ['chghost'] });
    const plain = await s.connect('carol', { caps: ['away-notify'] });
    const extended = await s.connect('dave', { caps: ['extended-join'] });
    const srv = s.srv.server;
    for (const n of ['bob', 'carol', 'dave']) {
      putInChannel(srv, n, '#one');
      putInChannel(srv, n, '#two');
    }
    putInChannel(srv, 'alice', '#one', { prefixes: 'ov' });
    putInChannel(srv, 'alice', '#two');
    a.send('AWAY :out');
    await plain.waitFor('AWAY');
    const marks = [plain.mark, extended.mark];

    srv.state.setHost(serverClient(srv, 'alice'), 'cloak.example', 'wonder');
    for (const c of [a, withCap]) {
      const m = await c.waitFor('CHGHOST');
      expect([m.source, ...m.params]).toEqual(['alice!alice@127.0.0.1', 'wonder', 'cloak.example']);
    }
    // Everything after the change, up to a PING round trip.
    const since = async (c: typeof plain, from: number) => {
      await c.collectUntilPong();
      return c.lines.slice(from).map((l) => parseMessage(l)).filter((m) => m.command !== 'PONG');
    };
    const seen = (await since(plain, marks[0]!)).map((m) => [m.source, m.command, ...m.params]);
    expect(seen).toEqual([
      ['alice!alice@127.0.0.1', 'QUIT', 'Changing hostname'],
      ['alice!wonder@cloak.example', 'JOIN', '#one'],
      ['irc.test', 'MODE', '#one', '+ov', 'alice', 'alice'],
      ['alice!wonder@cloak.example', 'JOIN', '#two'],
      ['alice!wonder@cloak.example', 'AWAY', 'out'],
    ]);
    const ext = (await since(extended, marks[1]!)).filter((m) => m.command === 'JOIN').map((m) => m.params);
    expect(ext).toEqual([
      ['#one', '*', 'Test User'],
      ['#two', '*', 'Test User'],
    ]);
    expect((await withCap.collectUntilPong()).map((m) => m.command)).toEqual([]);
    withCap.send('WHO alice');
    expect((await withCap.waitFor('352')).params.slice(2, 4)).toEqual(['wonder', 'cloak.example']);
  });

  it('does nothing when neither username nor host changes', async () => {
    await s.start();
    const a = await s.connect('alice', { caps: ['chghost'] });
    s.srv.server.state.setHost(serverClient(s.srv.server, 'alice'), '127.0.0.1', 'alice');
    expect((await a.collectUntilPong()).map((m) => m.command)).toEqual([]);
  });
});
