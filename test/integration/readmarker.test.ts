// IRCv3 draft/read-marker: MARKREAD get and set, markers only moving forward, MARKREAD on JOIN
// before RPL_ENDOFNAMES, markers of an account kept across sessions and shared with its other sessions.
import { describe, expect, it } from 'vitest';
import type { TestClient } from '../support/harness.js';
import { loggedInClient } from '../support/login.js';
import { useSession } from '../support/session.js';

const s = useSession();
const CAP = 'draft/read-marker';

async function markread(c: TestClient, line: string): Promise<string[][]> {
  c.send(line);
  return (await c.collectUntilPong()).filter((m) => m.command === 'MARKREAD' || m.command === 'FAIL').map((m) => [m.command, ...m.params]);
}

describe('MARKREAD', () => {
  it('answers "*" until a marker is set, then the marker; an older time gets the stored one back', async () => {
    await s.start();
    const a = await s.connect('alice', { caps: [CAP] });
    expect(await markread(a, 'MARKREAD #chan')).toEqual([['MARKREAD', '#chan', '*']]);
    const newer = 'timestamp=2024-06-01T12:00:00.000Z';
    expect(await markread(a, `MARKREAD #chan ${newer}`)).toEqual([['MARKREAD', '#chan', newer]]);
    expect(await markread(a, 'MARKREAD #CHAN timestamp=2024-01-01T00:00:00.000Z')).toEqual([['MARKREAD', '#CHAN', newer]]);
    expect(await markread(a, 'MARKREAD #chan')).toEqual([['MARKREAD', '#chan', newer]]);
    expect(await markread(a, 'MARKREAD bob timestamp=2023-07-04T00:00:00.000Z')).toEqual([
      ['MARKREAD', 'bob', 'timestamp=2023-07-04T00:00:00.000Z'],
    ]);
  });

  it('never moves a marker past the present', async () => {
    await s.start();
    const a = await s.connect('alice', { caps: [CAP] });
    const [[, , value]] = (await markread(a, 'MARKREAD #chan timestamp=2999-01-01T00:00:00.000Z')) as [string[]];
    expect(Date.parse(value!.slice('timestamp='.length))).toBeLessThanOrEqual(Date.now());
  });

  it('refuses missing and malformed parameters with the FAIL codes of the spec', async () => {
    await s.start();
    const a = await s.connect('alice', { caps: [CAP] });
    expect(await markread(a, 'MARKREAD')).toEqual([['FAIL', 'MARKREAD', 'NEED_MORE_PARAMS', 'Missing parameters']]);
    expect(await markread(a, 'MARKREAD #chan *')).toEqual([['FAIL', 'MARKREAD', 'INVALID_PARAMS', '*', 'Invalid parameters']]);
    expect(await markread(a, 'MARKREAD #chan timestamp=2024-01-01')).toEqual([
      ['FAIL', 'MARKREAD', 'INVALID_PARAMS', 'timestamp=2024-01-01', 'Invalid parameters'],
    ]);
    expect(await markread(a, 'MARKREAD a,b')).toEqual([['FAIL', 'MARKREAD', 'INVALID_PARAMS', 'a,b', 'Invalid parameters']]);
  });

  it('keeps at most read_markers markers per connection, forgetting the least recently set', async () => {
    await s.start({ history: { read_markers: 2 } });
    const a = await s.connect('alice', { caps: [CAP] });
    for (const t of ['#one', '#two', '#three']) await markread(a, `MARKREAD ${t} timestamp=2024-01-01T00:00:00.000Z`);
    expect(await markread(a, 'MARKREAD #one')).toEqual([['MARKREAD', '#one', '*']]);
    expect(await markread(a, 'MARKREAD #three')).toEqual([['MARKREAD', '#three', 'timestamp=2024-01-01T00:00:00.000Z']]);
  });
});

describe('MARKREAD on JOIN', () => {
  it('comes after the JOIN and before RPL_ENDOFNAMES, only with the capability', async () => {
    await s.start();
    const a = await s.connect('alice', { caps: [CAP] });
    await markread(a, 'MARKREAD #c timestamp=2020-03-15T10:00:00.000Z');
    a.send('JOIN #c');
    const burst = (await a.collectUntilPong()).map((m) => m.command);
    expect(burst.indexOf('MARKREAD')).toBeGreaterThan(burst.indexOf('JOIN'));
    expect(burst.indexOf('MARKREAD')).toBeLessThan(burst.indexOf('366'));
    expect(a.lines.find((l) => l.includes('MARKREAD #c timestamp=2020-03-15T10:00:00.000Z') && !l.includes('JOIN'))).toBeTruthy();

    const b = await s.connect('bob');
    b.send('JOIN #c');
    expect((await b.collectUntilPong()).map((m) => m.command)).not.toContain('MARKREAD');
  });
});

describe('read markers of an account', () => {
  it('are told to its other sessions and to a later session after the welcome', async () => {
    const srv = await s.start();
    const first = await loggedInClient(srv.server, srv.port, 'alys', 'alys', [CAP]);
    const second = await loggedInClient(srv.server, srv.port, 'alys2', 'alys', [CAP]);
    const stranger = await loggedInClient(srv.server, srv.port, 'bob', 'bob', [CAP]);
    const ts = 'timestamp=2022-11-11T11:11:11.111Z';
    await markread(first, `MARKREAD #test ${ts}`);
    expect((await second.waitFor('MARKREAD')).params).toEqual(['#test', ts]);
    expect((await stranger.collectUntilPong()).map((m) => m.command)).not.toContain('MARKREAD');

    first.close();
    second.close();
    const later = await loggedInClient(srv.server, srv.port, 'alys', 'alys', [CAP]);
    expect((await later.waitFor('MARKREAD')).params).toEqual(['#test', ts]);
    expect(await markread(later, 'MARKREAD #test')).toEqual([['MARKREAD', '#test', ts]]);
  });
});
