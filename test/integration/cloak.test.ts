// Host cloaking (user mode +x, 396, CHGHOST) and reverse DNS before registration.
import { describe, expect, it } from 'vitest';
import { cloakHost } from '../../src/auth/cloak.js';
import { client, TestClient } from '../support/harness.js';
import { useSession } from '../support/session.js';

const SECRET = '9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddccbbaa99887766554433221100';
const CLOAK = cloakHost(SECRET, '127.0.0.1', 'cloak');

const s = useSession();

describe('cloaking', () => {
  it('shows everyone the cloak from registration on, the same on every connection', async () => {
    const srv = await s.start({ cloaking: { enabled: true, secret: SECRET } });
    const a = await TestClient.connect(srv.port);
    await a.register('alice');
    expect(a.lines.map((l) => l.split(' ').slice(1, 4).join(' '))).toContain(`396 alice ${CLOAK}`);
    const b = await client(srv.port, 'bob');
    a.send('PRIVMSG bob :hi');
    expect((await b.waitFor('PRIVMSG')).source).toBe(`alice!alice@${CLOAK}`);
    a.close();
    const again = await client(srv.port, 'alice2');
    again.send('PRIVMSG bob :again');
    expect((await b.waitFor('PRIVMSG')).source).toBe(`alice2!alice2@${CLOAK}`);
    again.send('MODE alice2');
    expect((await again.waitFor('221')).params[1]).toContain('x');
  });

  it('toggles with MODE -x / +x, answering 396 and sending CHGHOST', async () => {
    const srv = await s.start({ cloaking: { enabled: true, secret: SECRET } });
    const a = await client(srv.port, 'alice', { caps: ['chghost'] });
    a.send('MODE alice -x');
    expect((await a.waitFor('CHGHOST')).params).toEqual(['alice', '127.0.0.1']);
    expect((await a.waitFor('396')).params[1]).toBe('127.0.0.1');
    a.send('MODE alice +x');
    expect((await a.waitFor('CHGHOST')).params).toEqual(['alice', CLOAK]);
    expect((await a.waitFor('396')).params[1]).toBe(CLOAK);
  });

  it('leaves hosts alone when off by default or disabled', async () => {
    let srv = await s.start({ cloaking: { enabled: true, secret: SECRET, default_on: false } });
    const a = await client(srv.port, 'alice');
    expect(srv.server.state.findNick('alice')!.host).toBe('127.0.0.1');
    a.send('MODE alice +x');
    await a.waitFor('396');
    await srv.stop();
    srv = await s.start();
    const b = await client(srv.port, 'bob');
    b.send('MODE bob +x');
    expect((await b.collectUntilPong()).map((m) => m.command)).toEqual([]);
    expect(srv.server.state.findNick('bob')!.host).toBe('127.0.0.1');
  });
});

describe('reverse DNS', () => {
  it('says it is looking up the hostname and registers (falling back to the IP) when enabled', async () => {
    const srv = await s.start({ dns: { enabled: true, timeout: 0.5 } });
    const c = await TestClient.connect(srv.port);
    await c.waitFor((m) => m.command === 'NOTICE' && m.params[1] === '*** Looking up your hostname...');
    await c.register('dnsuser');
    await c.waitFor((m) => m.command === 'NOTICE' && /^\*\*\* (Found|Couldn't look up) your hostname/.test(m.params[1]!), { from: 0 });
    const host = srv.server.state.findNick('dnsuser')!.realHost;
    expect(host === '127.0.0.1' || /^[a-z0-9.-]+$/.test(host)).toBe(true);
  });

  it('sends no lookup notices when disabled', async () => {
    const srv = await s.start();
    const c = await client(srv.port, 'plain');
    expect(c.lines.some((l) => l.includes('Looking up your hostname'))).toBe(false);
  });
});
