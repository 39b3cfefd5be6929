// WEBIRC: a configured gateway passes on its user's address; bans, limits, the allow block and
// WHOIS then see the user, and anything but the right gateway, password and order is refused.
import { describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/password.js';
import type { RawConfig, TestClient } from '../support/harness.js';
import { operConfig, operUp } from '../support/oper.js';
import { useSession } from '../support/session.js';

const s = useSession();
const GATEWAY_PASSWORD = 'webirc-secret-1';
const HASH = hashPassword(GATEWAY_PASSWORD);

function webircConfig(extra: RawConfig = {}, hosts = ['127.0.0.1']): RawConfig {
  return operConfig({ webirc: [{ name: 'kiwi', hosts, password: HASH }], ...extra });
}

/** A connection from the test's gateway (127.0.0.1) that sends WEBIRC first, then registers. */
async function viaGateway(nick: string, ip: string, host = ip, opts: { options?: string; password?: string } = {}): Promise<TestClient> {
  const c = await s.raw();
  c.nick = nick;
  c.send(`WEBIRC ${opts.password ?? GATEWAY_PASSWORD} kiwi ${host} ${ip}${opts.options ? ` :${opts.options}` : ''}`);
  c.send(`NICK ${nick}`);
  c.send(`USER ${nick} 0 * :Web User`);
  return c;
}

async function registered(c: TestClient): Promise<TestClient> {
  await c.waitFor((m) => m.command === '376' || m.command === '422');
  return c;
}

describe('WEBIRC', () => {
  it("gives the user the address and host the gateway told, and shows the gateway in WHOIS", async () => {
    await s.start(webircConfig());
    const web = await registered(await viaGateway('webber', '192.0.2.7', 'Host-7.Example.NET.', { options: 'secure remote-port=51000' }));
    const self = await web.ask('WHOIS webber');
    expect(self.find((m) => m.command === '311')!.params[3]).toBe('host-7.example.net');
    expect(self.find((m) => m.command === '378')!.params[2]).toBe('is connecting from 192.0.2.7');
    // The gateway link is loopback, so its "secure" flag is believed.
    expect(self.some((m) => m.command === '671')).toBe(true);
    const mine = self.find((m) => m.command === '350')!;
    expect(mine.params.slice(3)).toEqual(['127.0.0.1', 'is connected via the kiwi WebIRC gateway']);

    const other = await s.connect('other');
    const seen = await other.ask('WHOIS webber');
    expect(seen.find((m) => m.command === '350')!.params.slice(2)).toEqual(['*', '*', 'is connected via the kiwi WebIRC gateway']);
    const op = await s.connect('op');
    await operUp(op);
    const gw = (await op.ask('WHOIS webber')).find((m) => m.command === '350')!;
    expect(gw.params[3]).toBe('127.0.0.1');
    expect((await op.ask('USERHOST webber')).find((m) => m.command === '302')!.params[1]).toBe('webber=+webber@host-7.example.net');
  });

  it('uses the IP as host when the hostname is unusable, and takes "0::1"-style IPv6', async () => {
    await s.start(webircConfig());
    const web = await registered(await viaGateway('six', '0::ffff:5', 'not_a_host!'));
    const whois = await web.ask('WHOIS six');
    expect(whois.find((m) => m.command === '311')!.params[3]).toBe('0::ffff:5');
    expect(whois.find((m) => m.command === '378')!.params[2]).toMatch(/ ::ffff:5$/);
    expect(whois.some((m) => m.command === '671')).toBe(false);
  });

  it('refuses a wrong password, a gateway not configured for the address, and WEBIRC after other commands', async () => {
    await s.start(webircConfig());
    const wrong = await viaGateway('w1', '192.0.2.8', '192.0.2.8', { password: 'nope' });
    expect((await wrong.waitFor('ERROR')).params[0]).toMatch(/Invalid WebIRC password/);
    await wrong.waitClosed();

    const late = await s.raw();
    late.send('NICK late');
    late.send(`WEBIRC ${GATEWAY_PASSWORD} kiwi h.example 192.0.2.9`);
    expect((await late.waitFor('ERROR')).params[0]).toMatch(/WEBIRC must be the first command/);
    await late.waitClosed();

    const bad = await viaGateway('w3', 'not-an-ip');
    expect((await bad.waitFor('ERROR')).params[0]).toMatch(/Invalid IP address/);

    const after = await s.connect('regd');
    after.send(`WEBIRC ${GATEWAY_PASSWORD} kiwi h.example 192.0.2.9`);
    expect((await after.waitFor('462')).params[1]).toBeDefined();
  });

  it('refuses WEBIRC from an address that is not a configured gateway', async () => {
    await s.start(webircConfig({}, ['198.51.100.0/24']));
    const c = await viaGateway('nogw', '192.0.2.10');
    expect((await c.waitFor('ERROR')).params[0]).toMatch(/Invalid WebIRC password/);
    await c.waitClosed();
  });

  it("applies D-lines, K-lines and per-address limits to the user's address, not the gateway's", async () => {
    await s.start(
      webircConfig({
        class: [{ name: 'default', max_per_ip: 1, flood: { burst: 1000, rate: 1000 }, connect_rate: { count: 1000, seconds: 1 } }],
      }),
    );
    const op = await s.connect('op');
    await operUp(op);
    // Many users behind the one gateway address: each counted by its own address.
    await registered(await viaGateway('u1', '192.0.2.21'));
    await registered(await viaGateway('u2', '192.0.2.22'));
    const twice = await viaGateway('u3', '192.0.2.22');
    expect((await twice.waitFor('ERROR')).params[0]).toMatch(/Too many connections from your IP/);

    op.send('DLINE 192.0.2.30 :no thanks');
    await op.waitFor((m) => m.command === 'NOTICE' && m.params[1]!.includes('Added'));
    const dlined = await viaGateway('u4', '192.0.2.30');
    expect((await dlined.waitFor('ERROR')).params[0]).toMatch(/Banned: no thanks/);

    op.send('KLINE *@bad.example :go away');
    await op.waitFor((m) => m.command === 'NOTICE' && m.params[1]!.includes('Added'));
    const klined = await viaGateway('u5', '192.0.2.31', 'bad.example');
    expect((await klined.waitFor('465')).params[1]).toMatch(/go away/);
  });
});
