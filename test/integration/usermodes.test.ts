// User modes: MODE <nick> query and changes (i, w, o, B), 501/502, BOT in ISUPPORT and its effects.
import { describe, expect, it } from 'vitest';
import { makeOper, serverClient } from '../support/state.js';
import { useSession } from '../support/session.js';

const s = useSession();

describe('MODE <nick>', () => {
  it('shows and changes your own modes, echoing only real changes', async () => {
    await s.start();
    const a = await s.connect('alice');
    a.send('MODE alice');
    expect((await a.waitFor('221')).params).toEqual(['alice', '+']);
    a.send('MODE alice +iw');
    const echo = await a.waitFor('MODE');
    expect(echo.source).toBe('alice!alice@127.0.0.1');
    expect(echo.params).toEqual(['alice', '+iw']);
    a.send('MODE alice +i-w');
    expect((await a.waitFor('MODE')).params).toEqual(['alice', '-w']);
    a.send('MODE alice');
    expect((await a.waitFor('221')).params).toEqual(['alice', '+i']);
    // Setting a mode already held changes nothing and says nothing.
    const rest = await a.collectUntilPong();
    a.send('MODE alice +i');
    expect((await a.collectUntilPong()).filter((m) => m.command === 'MODE')).toEqual([]);
    expect(rest).toEqual([]);
  });

  it('applies the known modes and answers 501 once for unknown ones', async () => {
    await s.start();
    const a = await s.connect('alice');
    a.send('MODE alice +iZY');
    const replies = await a.collectUntilPong();
    expect(replies.map((m) => [m.command, ...m.params])).toEqual([
      ['MODE', 'alice', '+i'],
      ['501', 'alice', 'Unknown MODE flag'],
    ]);
  });

  it('refuses other users with 502 and unknown nicks with 401', async () => {
    await s.start();
    const a = await s.connect('alice');
    await s.connect('bob');
    a.send('MODE bob +i');
    expect((await a.waitFor('502')).params[1]).toBe("Can't change mode for other users");
    a.send('MODE bob');
    expect((await a.waitFor('502')).params[1]).toBe("Can't view modes for other users");
    a.send('MODE nobody');
    expect((await a.waitFor('401')).params).toEqual(['alice', 'nobody', 'No such nick/channel']);
    expect(serverClient(s.srv.server, 'bob').modes.has('i')).toBe(false);
  });

  it('ignores +o from users but lets an operator drop it, ending the operator session', async () => {
    await s.start();
    const a = await s.connect('alice');
    a.send('MODE alice +o');
    a.send('MODE alice');
    expect((await a.waitFor('221')).params).toEqual(['alice', '+']);
    makeOper(s.srv.server, 'alice', ['see_hidden']);
    a.send('MODE alice -o');
    expect((await a.waitFor('MODE')).params).toEqual(['alice', '-o']);
    expect(serverClient(s.srv.server, 'alice').oper).toBeUndefined();
  });

  it('lists the user modes in 004', async () => {
    await s.start();
    const a = await s.connect('alice');
    const myinfo = a.lines.map((l) => l.split(' ')).find((p) => p[1] === '004')!;
    for (const letter of 'Biow') expect(myinfo[5]).toContain(letter);
  });
});

describe('bot mode (IRCv3)', () => {
  it('advertises BOT=B, shows 335 in WHOIS, B in WHO flags and tags messages with bot', async () => {
    await s.start();
    const bot = await s.connect('robot');
    const isupport = bot.lines.filter((l) => l.split(' ')[1] === '005').join(' ');
    expect(isupport).toContain(' BOT=B ');
    bot.send('MODE robot +B');
    expect((await bot.waitFor('MODE')).params).toEqual(['robot', '+B']);

    const user = await s.connect('human', { caps: ['message-tags'] });
    const plain = await s.connect('plain');
    user.send('WHOIS robot');
    expect((await user.waitFor('335')).params.slice(0, 2)).toEqual(['human', 'robot']);
    user.send('WHO robot');
    expect((await user.waitFor('352')).params[6]).toBe('HB');

    bot.send('PRIVMSG human,plain :beep');
    const tagged = await user.waitFor('PRIVMSG');
    expect(tagged.tags).toHaveProperty('bot', '');
    const untagged = await plain.waitFor('PRIVMSG');
    expect(untagged.tags?.bot).toBeUndefined();
  });
});
