// AWAY and IRCv3 away-notify: 305/306, AWAYLEN, RPL_AWAY, and who sees AWAY notifications.
import { describe, expect, it } from 'vitest';
import { putInChannel } from '../support/state.js';
import { useSession } from '../support/session.js';

const s = useSession();

describe('AWAY', () => {
  it('marks away with 306 and back with 305 (no parameter or an empty one)', async () => {
    await s.start();
    const a = await s.connect('alice');
    const b = await s.connect('bob');
    a.send('AWAY :brb');
    expect((await a.waitFor('306')).params).toEqual(['alice', 'You have been marked as being away']);
    b.send('PRIVMSG alice :hi');
    expect((await b.waitFor('301')).params).toEqual(['bob', 'alice', 'brb']);
    a.send('AWAY :');
    expect((await a.waitFor('305')).params).toEqual(['alice', 'You are no longer marked as being away']);
    a.send('AWAY :again');
    await a.waitFor('306');
    a.send('AWAY');
    await a.waitFor('305');
    b.send('PRIVMSG alice :hi');
    expect((await b.collectUntilPong()).map((m) => m.command)).toEqual([]);
  });

  it('truncates the message to AWAYLEN, which ISUPPORT advertises', async () => {
    await s.start({ limits: { awaylen: 5 } });
    const a = await s.connect('alice');
    const b = await s.connect('bob');
    expect(a.lines.filter((l) => l.split(' ')[1] === '005').join(' ')).toContain(' AWAYLEN=5 ');
    a.send('AWAY :abcdefgh');
    await a.waitFor('306');
    b.send('WHOIS alice');
    expect((await b.waitFor('301')).params[2]).toBe('abcde');
  });
});

describe('away-notify', () => {
  it('tells channel peers with the cap, never the user itself nor peers without the cap', async () => {
    await s.start();
    const a = await s.connect('alice', { caps: ['away-notify'] });
    const withCap = await s.connect('bob', { caps: ['away-notify'] });
    const without = await s.connect('carol');
    const stranger = await s.connect('dave', { caps: ['away-notify'] });
    for (const n of ['alice', 'bob', 'carol']) putInChannel(s.srv.server, n, '#c');
    a.send('AWAY :lunch');
    const note = await withCap.waitFor('AWAY');
    expect(note.source).toBe('alice!alice@127.0.0.1');
    expect(note.params).toEqual(['lunch']);
    a.send('AWAY');
    expect((await withCap.waitFor('AWAY')).params).toEqual([]);
    // Going back when not away changes nothing and tells nobody.
    a.send('AWAY');
    await a.collectUntilPong();
    expect((await withCap.collectUntilPong()).map((m) => m.command)).toEqual([]);
    expect(a.lines.filter((l) => l.split(' ')[1] === 'AWAY')).toEqual([]);
    expect((await without.collectUntilPong()).map((m) => m.command)).toEqual([]);
    expect((await stranger.collectUntilPong()).map((m) => m.command)).toEqual([]);
  });

  it('sends the AWAY of an away user joining a channel to members with the cap', async () => {
    await s.start();
    const member = await s.connect('member', { caps: ['away-notify'] });
    const plain = await s.connect('plain');
    const joiner = await s.connect('joiner', { caps: ['away-notify'] });
    putInChannel(s.srv.server, 'member', '#c');
    putInChannel(s.srv.server, 'plain', '#c');
    joiner.send('AWAY :busy');
    await joiner.waitFor('306');
    putInChannel(s.srv.server, 'joiner', '#c');
    const note = await member.waitFor('AWAY');
    expect([note.source, ...note.params]).toEqual(['joiner!joiner@127.0.0.1', 'busy']);
    expect((await joiner.collectUntilPong()).map((m) => m.command)).toEqual([]);
    expect((await plain.collectUntilPong()).map((m) => m.command)).toEqual([]);
  });
});
