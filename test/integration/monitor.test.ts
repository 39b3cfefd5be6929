// MONITOR and extended-monitor: list management, limits, online/offline notifications and the
// extra notifications watchers with extended-monitor get.
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { client, type TestClient } from '../support/harness.js';
import { serverClient } from '../support/state.js';
import { useSession } from '../support/session.js';

const s = useSession();

async function ask(c: TestClient, line: string): Promise<Array<string[]>> {
  c.send(line);
  return (await c.collectUntilPong()).map((m: Message) => [m.command, ...m.params]);
}

describe('MONITOR', () => {
  it('advertises the limit and reports targets online (with mask) and offline when added', async () => {
    await s.start({ limits: { monitor: 7 } });
    const a = await s.connect('alice');
    await s.connect('bob');
    expect(a.lines.filter((l) => l.split(' ')[1] === '005').join(' ')).toContain(' MONITOR=7 ');
    expect(await ask(a, 'MONITOR + Bob,carol')).toEqual([
      ['730', 'alice', 'bob!bob@127.0.0.1'],
      ['731', 'alice', 'carol'],
    ]);
    // Already monitored targets are not added again, nor reported.
    expect(await ask(a, 'MONITOR + bob')).toEqual([]);
    expect(await ask(a, 'MONITOR L')).toEqual([
      ['732', 'alice', 'Bob,carol'],
      ['733', 'alice', 'End of MONITOR list'],
    ]);
    expect(await ask(a, 'MONITOR S')).toEqual([
      ['730', 'alice', 'bob!bob@127.0.0.1'],
      ['731', 'alice', 'carol'],
    ]);
    expect(await ask(a, 'MONITOR - BOB')).toEqual([]);
    expect(await ask(a, 'MONITOR L')).toEqual([
      ['732', 'alice', 'carol'],
      ['733', 'alice', 'End of MONITOR list'],
    ]);
    expect(await ask(a, 'MONITOR C')).toEqual([]);
    expect(await ask(a, 'MONITOR L')).toEqual([['733', 'alice', 'End of MONITOR list']]);
  });

  it('refuses masks and invalid nicks with 432, and a full list with 734 naming what was left out', async () => {
    await s.start({ limits: { monitor: 2 } });
    const a = await s.connect('alice');
    expect(await ask(a, 'MONITOR + *!user@host')).toEqual([['432', 'alice', '*!user@host', 'Erroneous nickname']]);
    expect(await ask(a, 'MONITOR + n1,n2,n3,n4')).toEqual([
      ['734', 'alice', '2', 'n3,n4', 'Monitor list is full.'],
      ['731', 'alice', 'n1,n2'],
    ]);
    expect(await ask(a, 'MONITOR X')).toEqual([['421', 'alice', 'MONITOR', 'Unknown MONITOR subcommand X, use + - C L or S']]);
    expect(await ask(a, 'MONITOR +')).toEqual([['461', 'alice', 'MONITOR', 'Not enough parameters']]);
  });

  it('notifies on registration, nick change (not for a change of case) and quit', async () => {
    await s.start();
    const a = await s.connect('alice');
    const other = await s.connect('other');
    await ask(a, 'MONITOR + qux,zed');
    await ask(other, 'MONITOR + qux');
    const q = await client(s.srv.port, 'qux');
    await a.waitFor((m) => m.command === '730' && m.params[1] === 'qux!qux@127.0.0.1');
    await other.waitFor('730');
    q.send('NICK QUX');
    await q.waitFor('NICK');
    expect(await ask(a, 'PING x')).toEqual([['PONG', 'irc.test', 'x']]);
    q.send('NICK zed');
    await q.waitFor((m) => m.command === 'NICK' && m.params[0] === 'zed');
    expect(await ask(a, 'PING y')).toEqual([
      ['731', 'alice', 'QUX'],
      ['730', 'alice', 'zed!qux@127.0.0.1'],
      ['PONG', 'irc.test', 'y'],
    ]);
    q.send('QUIT');
    await a.waitFor((m) => m.command === '731' && m.params[1] === 'zed');
  });

  it('drops the lists of users who quit from the reverse index', async () => {
    await s.start();
    const a = await s.connect('alice');
    const w = await s.connect('watcher');
    await ask(w, 'MONITOR + alice');
    expect(s.srv.server.state.watchersOf('alice').size).toBe(1);
    w.send('QUIT');
    await w.waitClosed();
    expect(s.srv.server.state.watchersOf('alice').size).toBe(0);
    a.send('NICK alice2');
    expect((await a.waitFor('NICK')).params).toEqual(['alice2']);
  });
});

describe('extended-monitor', () => {
  it('sends AWAY, SETNAME and CHGHOST of monitored nicks only to watchers holding both caps', async () => {
    await s.start();
    const ext = await s.connect('ext', { caps: ['extended-monitor', 'away-notify', 'setname', 'chghost'] });
    const noExt = await s.connect('noext', { caps: ['away-notify', 'setname', 'chghost'] });
    const noCap = await s.connect('nocap', { caps: ['extended-monitor'] });
    for (const w of [ext, noExt, noCap]) await ask(w, 'MONITOR + bob');
    const b = await s.connect('bob');
    for (const w of [ext, noExt, noCap]) await w.waitFor('730');

    b.send('AWAY :afk');
    const away = await ext.waitFor('AWAY');
    expect([away.source, ...away.params]).toEqual(['bob!bob@127.0.0.1', 'afk']);
    b.send('SETNAME :New Name');
    expect((await ext.waitFor('SETNAME')).params).toEqual(['New Name']);
    s.srv.server.state.setHost(serverClient(s.srv.server, 'bob'), 'vhost.example', 'bob');
    const chg = await ext.waitFor('CHGHOST');
    expect([chg.source, ...chg.params]).toEqual(['bob!bob@127.0.0.1', 'bob', 'vhost.example']);
    await b.collectUntilPong();
    for (const w of [noExt, noCap]) expect((await w.collectUntilPong()).map((m) => m.command)).toEqual([]);
  });
});
