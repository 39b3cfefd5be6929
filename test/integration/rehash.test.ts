// REHASH (whole config, MOTD, TLS), SIGHUP and RESTART in a real process, cap-notify on rehash.
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { daemonFiles, useDaemons } from '../support/daemon.js';
import { client, freePort, TestClient, testConfig, toToml, waitUntil, type RawConfig } from '../support/harness.js';
import { useSession } from '../support/session.js';
import { operConfig, operUp } from '../support/oper.js';
import { makeCaSignedCert, makeSelfSignedCert } from '../support/tls.js';

const s = useSession();

function rewrite(path: string, patch: RawConfig): void {
  writeFileSync(path, toToml(testConfig(operConfig(patch))));
}

async function linksInfo(c: TestClient): Promise<string> {
  c.send('LINKS');
  return (await c.waitFor('364')).params[3]!;
}

describe('REHASH', () => {
  it('needs the rehash privilege', async () => {
    const srv = await s.start(operConfig());
    const c = await client(srv.port, 'someone');
    for (const cmd of ['REHASH', 'REHASH MOTD', 'REHASH TLS']) {
      c.send(cmd);
      await c.waitFor('481');
    }
  });

  it('reloads the config with 382 and tells the other opers', async () => {
    const srv = await s.start(operConfig());
    const op = await client(srv.port, 'op');
    await operUp(op);
    const other = await client(srv.port, 'other');
    await operUp(other);
    rewrite(srv.configPath, { server: { name: 'irc.test', motd: 'motd.txt', description: 'Renamed server' } });
    op.send('REHASH');
    expect((await op.waitFor('382')).params).toEqual(['op', srv.configPath, 'Rehashing']);
    await other.waitFor((m) => m.command === 'NOTICE' && /op rehashed the server configuration/.test(m.params[1]!));
    expect(await linksInfo(op)).toBe('0 Renamed server');
  });

  it('updates the privileges of opers online, and ends the session of opers whose block is gone', async () => {
    const srv = await s.start(operConfig());
    const op = await client(srv.port, 'op');
    await operUp(op);
    const helper = await client(srv.port, 'helpy');
    await operUp(helper, 'helper');
    const [admin, helperClass] = operConfig().oper_class as Array<Record<string, unknown>>;
    rewrite(srv.configPath, {
      oper_class: [admin, { ...helperClass, privileges: ['wallops'] }],
      oper: (operConfig().oper as Array<{ name: string }>).filter((o) => o.name !== 'alice'),
    });
    op.send('REHASH');
    expect((await op.waitFor('MODE')).params).toEqual(['op', '-os']);
    await op.waitFor((m) => m.command === 'NOTICE' && /no longer an operator/.test(m.params[1]!));
    await op.waitFor('382');
    expect(srv.server.state.findNick('op')!.oper).toBeUndefined();
    helper.send('WALLOPS :now allowed');
    expect((await helper.collectUntilPong()).some((m) => m.command === '481')).toBe(false);
  });

  it('applies what it can and names the keys that need a restart, until a restart or a revert', async () => {
    const ws = { address: '127.0.0.1', port: 0, websocket: true };
    const listen = [{ address: '127.0.0.1', port: 0 }, ws];
    const srv = await s.start(operConfig({ listen }));
    const op = await client(srv.port, 'op');
    await operUp(op);
    const other = await client(srv.port, 'other');
    await operUp(other);
    const waiting = 'changed but needs a restart: listen[1].origins, log.destination, log.format, store.path';
    rewrite(srv.configPath, {
      listen: [listen[0], { ...ws, origins: ['https://chat.example'] }],
      server: { name: 'irc.test', motd: 'motd.txt', description: 'Applied live' },
      store: { path: join(srv.dir, 'elsewhere.db') },
      log: { level: 'silent', format: 'pretty', destination: join(srv.dir, 'ircd.log') },
    });
    op.send('REHASH');
    await op.waitFor('382');
    expect((await op.waitFor('WARN')).params).toEqual(['REHASH', 'NEEDS_RESTART', `Reloaded; ${waiting}`]);
    await other.waitFor((m) => m.command === 'NOTICE' && m.params[1]!.endsWith(`op rehashed the server configuration; ${waiting}`));
    expect(await linksInfo(op)).toBe('0 Applied live');

    // Still not in effect at the next rehash, so named again.
    op.send('REHASH');
    await op.waitFor('382');
    expect((await op.waitFor('WARN')).params[2]).toBe(`Reloaded; ${waiting}`);

    rewrite(srv.configPath, { listen, log: { level: 'silent' } });
    op.send('REHASH');
    await op.waitFor('382');
    expect((await op.collectUntilPong()).filter((m) => m.command === 'WARN')).toEqual([]);
  });

  it('warns when the MOTD file is missing, after a full REHASH and after REHASH MOTD', async () => {
    const srv = await s.start(operConfig());
    const op = await client(srv.port, 'op');
    await operUp(op);
    const gone = join(srv.dir, 'gone.txt');
    rewrite(srv.configPath, { server: { name: 'irc.test', motd: 'gone.txt' } });
    op.send('REHASH');
    await op.waitFor('382');
    expect((await op.waitFor('WARN')).params).toEqual(['REHASH', 'CONFIG_WARNING', `server.motd: ${gone} does not exist; clients will be told the MOTD is missing`]);
    op.send('REHASH MOTD');
    await op.waitFor('382');
    expect((await op.waitFor('WARN')).params[1]).toBe('CONFIG_WARNING');
    writeFileSync(gone, 'back\n');
    op.send('REHASH MOTD');
    await op.waitFor('382');
    expect((await op.collectUntilPong()).filter((m) => m.command === 'WARN')).toEqual([]);
  });

  it('opens, moves and closes the metrics endpoint live', async () => {
    const srv = await s.start(operConfig());
    const op = await client(srv.port, 'op');
    await operUp(op);
    const health = async (port: number) => (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
    const refused = async (port: number) => fetch(`http://127.0.0.1:${port}/healthz`).then(() => false, () => true);
    const rehash = async () => {
      op.send('REHASH');
      await op.waitFor('382');
      return (await op.collectUntilPong()).filter((m) => m.command === 'WARN' || m.command === 'FAIL');
    };
    expect(srv.server.http).toBeUndefined();

    const first = await freePort();
    rewrite(srv.configPath, { metrics: { enabled: true, address: '127.0.0.1', port: first } });
    expect(await rehash()).toEqual([]);
    expect(await health(first)).toBe(200);

    const second = await freePort();
    rewrite(srv.configPath, { metrics: { enabled: true, address: '127.0.0.1', port: second, max_connections: 3 } });
    expect(await rehash()).toEqual([]);
    expect(await health(second)).toBe(200);
    expect(await refused(first)).toBe(true);

    // The same port on another address: the old socket goes first, so the port is free for the new one.
    rewrite(srv.configPath, { metrics: { enabled: true, address: '0.0.0.0', port: second } });
    expect(await rehash()).toEqual([]);
    expect(srv.server.http!.cfg.address).toBe('0.0.0.0');
    expect(await health(second)).toBe(200);

    rewrite(srv.configPath, { metrics: { enabled: false } });
    expect(await rehash()).toEqual([]);
    expect(srv.server.http).toBeUndefined();
    expect(await refused(second)).toBe(true);
  });

  it('keeps the metrics endpoint where it was when the new port cannot be bound', async () => {
    const port = await freePort();
    const srv = await s.start(operConfig({ metrics: { enabled: true, address: '127.0.0.1', port } }));
    const op = await client(srv.port, 'op');
    await operUp(op);
    // The IRC listener's port is taken.
    rewrite(srv.configPath, { metrics: { enabled: true, address: '127.0.0.1', port: srv.port } });
    op.send('REHASH');
    const fail = await op.waitFor('FAIL');
    expect(fail.params.slice(0, 2)).toEqual(['REHASH', 'CONFIG_INVALID']);
    expect(fail.params[2]).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${srv.port} for \\[metrics\\]`));
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect(srv.server.http!.port).toBe(port);
  });

  it('keeps everything as it was when the new config is broken, and says why with the key path', async () => {
    const srv = await s.start(operConfig({ limits: { nicklen: 20 } }));
    const op = await client(srv.port, 'op');
    await operUp(op);
    const before = srv.server.config;
    rewrite(srv.configPath, { limits: { nicklen: 3 }, server: { name: 'irc.test', motd: 'motd.txt', description: 'Should not apply' } });
    op.send('REHASH');
    const fails = (await op.collectUntilPong()).filter((m) => m.command === 'FAIL');
    expect(fails.length).toBeGreaterThan(0);
    expect(fails.every((m) => m.params[0] === 'REHASH' && m.params[1] === 'CONFIG_INVALID')).toBe(true);
    expect(fails.map((m) => m.params[2]).join('\n')).toMatch(/limits\.nicklen: .*\(got 3\)/);
    expect(srv.server.config).toBe(before);
    expect(await linksInfo(op)).toBe('0 An IRC server');
  });

  it('tells opers when a rehash nobody typed (SIGHUP) is refused', async () => {
    const srv = await s.start(operConfig());
    const op = await client(srv.port, 'op');
    await operUp(op);
    await op.collectUntilPong();
    const before = srv.server.config;
    rewrite(srv.configPath, { limits: { nicklen: 3 } });
    const mark = op.mark;
    expect((await srv.server.rehash('SIGHUP')).ok).toBe(false);
    await op.collectUntilPong();
    const notices = op.lines.slice(mark).filter((l) => l.includes(' NOTICE '));
    expect(notices.length).toBeGreaterThan(1);
    expect(notices.every((l) => /Rehash \(SIGHUP\) failed, configuration unchanged/.test(l))).toBe(true);
    expect(notices.join('\n')).toMatch(/limits\.nicklen: .*\(got 3\)/);
    expect(srv.server.config).toBe(before);
  });

  it('REHASH MOTD rereads only the MOTD', async () => {
    const srv = await s.start(operConfig());
    const op = await client(srv.port, 'op');
    await operUp(op);
    writeFileSync(join(srv.dir, 'motd.txt'), 'A brand new MOTD\n');
    op.send('REHASH motd');
    expect((await op.waitFor('382')).params[1]).toBe('motd');
    op.send('MOTD');
    expect((await op.waitFor('372')).params[1]).toBe('- A brand new MOTD');
    op.send('REHASH nonsense');
    expect((await op.waitFor('FAIL')).params.slice(0, 2)).toEqual(['REHASH', 'INVALID_PARAMS']);
  });

  it('REHASH TLS swaps the certificate for new connections', async () => {
    const tls = makeSelfSignedCert('irc.test');
    const srv = await s.start(operConfig({ listen: [{ address: '127.0.0.1', port: 0 }, { address: '127.0.0.1', port: 0, tls }] }));
    const tlsPort = [...srv.server.listeners.values()].find((l) => l.cfg.tls)!.port;
    const cn = async () => {
      const c = await TestClient.connectTls(tlsPort);
      const name = (c.socket as TLSSocket).getPeerCertificate().subject.CN;
      c.close();
      return name;
    };
    expect(await cn()).toBe('irc.test');
    const next = makeSelfSignedCert('renewed.test');
    copyFileSync(next.cert, tls.cert);
    copyFileSync(next.key, tls.key);
    const op = await client(srv.port, 'op');
    await operUp(op);
    op.send('REHASH TLS');
    expect((await op.waitFor('382')).params[1]).toBe('tls');
    expect(await cn()).toBe('renewed.test');
  });

  it('REHASH TLS swaps no certificate when one listener\'s key does not match its certificate', async () => {
    const [a, b] = [makeSelfSignedCert('a.test'), makeSelfSignedCert('b.test')];
    // Ports of their own: two listeners on port 0 at one address would be the same block.
    const [portA, portB] = [await freePort(), await freePort()];
    const srv = await s.start(
      operConfig({ listen: [{ address: '127.0.0.1', port: 0 }, { address: '127.0.0.1', port: portA, tls: a }, { address: '127.0.0.1', port: portB, tls: b }] }),
    );
    const cn = async (port: number) => {
      const c = await TestClient.connectTls(port);
      const name = (c.socket as TLSSocket).getPeerCertificate().subject.CN;
      c.close();
      return name;
    };
    // a's renewal is fine; b's certificate is renewed but its key is not.
    const renewed = makeSelfSignedCert('a2.test');
    copyFileSync(renewed.cert, a.cert);
    copyFileSync(renewed.key, a.key);
    copyFileSync(makeSelfSignedCert('b2.test').cert, b.cert);
    const op = await client(srv.port, 'op');
    await operUp(op);
    op.send('REHASH TLS');
    const fail = await op.waitFor('FAIL');
    expect(fail.params.slice(0, 2)).toEqual(['REHASH', 'TLS_ERROR']);
    expect(fail.params.at(-1)).toContain('do not load together');
    expect([await cn(portA), await cn(portB)]).toEqual(['a.test', 'b.test']);
  });

  it('refuses to enable sts with a self-signed certificate, and enables it with a verifying one', async () => {
    const self = makeSelfSignedCert('irc.test');
    const good = makeCaSignedCert('irc.test');
    const srv = await s.start(operConfig({ listen: [{ address: '127.0.0.1', port: 0 }] }));
    const watcher = await TestClient.connect(srv.port);
    watcher.send('CAP LS 302');
    expect((await watcher.waitFor('CAP')).params.at(-1)).not.toContain('sts');
    watcher.send('CAP END');
    await watcher.register('watcher');
    const op = await client(srv.port, 'op');
    await operUp(op);
    const tlsPort = await freePort();
    const listen = ({ cert, key }: { cert: string; key: string }) => [{ address: '127.0.0.1', port: 0 }, { address: '127.0.0.1', port: tlsPort, tls: { cert, key } }];
    rewrite(srv.configPath, { listen: listen(self), sts: { enabled: true } });
    op.send('REHASH');
    const fail = await op.waitFor('FAIL');
    expect(fail.params.slice(0, 2)).toEqual(['REHASH', 'CONFIG_INVALID']);
    expect(fail.params[2]).toContain(`sts.enabled: the certificate ${self.cert} (TLS listener on port ${tlsPort}) does not verify for irc.test: self-signed certificate`);
    expect(srv.server.config.sts.enabled).toBe(false);

    rewrite(srv.configPath, { listen: listen(good), sts: { enabled: true, ca_file: good.ca } });
    op.send('REHASH');
    await op.waitFor('382');
    expect((await watcher.waitFor((m) => m.command === 'CAP' && m.params[1] === 'NEW')).params[2]).toBe(`sts=port=${tlsPort}`);

    // A renewed certificate must keep the promise too: REHASH TLS refuses a self-signed one.
    copyFileSync(self.cert, good.cert);
    copyFileSync(self.key, good.key);
    op.send('REHASH TLS');
    const tlsFail = await op.waitFor('FAIL');
    expect(tlsFail.params.slice(0, 2)).toEqual(['REHASH', 'TLS_ERROR']);
    expect(tlsFail.params[2]).toMatch(/does not verify for irc\.test: self-signed certificate/);
  });

  it('announces capabilities that go away with cap-notify', async () => {
    const tls = makeCaSignedCert('irc.test');
    const listen = [{ address: '127.0.0.1', port: 0 }, { address: '127.0.0.1', port: 0, tls: { cert: tls.cert, key: tls.key } }];
    const srv = await s.start(operConfig({ listen, sts: { enabled: true, ca_file: tls.ca } }));
    const watcher = await TestClient.connect(srv.port);
    watcher.send('CAP LS 302');
    expect((await watcher.waitFor('CAP')).params.at(-1)).toContain('sts=');
    watcher.send('CAP END');
    await watcher.register('watcher');
    const op = await client(srv.port, 'op');
    await operUp(op);
    rewrite(srv.configPath, { listen, sts: { enabled: false } });
    op.send('REHASH');
    await op.waitFor('382');
    expect((await watcher.waitFor((m) => m.command === 'CAP' && m.params[1] === 'DEL')).params[2]).toBe('sts');
  });
});

describe('a real process', () => {
  const daemons = useDaemons();

  it('reloads on SIGHUP, keeps the old config when the new one is broken, and RESTARTs with the same command line', async () => {
    const { dir, port, config: cfg } = await daemonFiles();
    const listen = [{ address: '127.0.0.1', port }];
    // Re-executing is what RESTART does without a supervisor; this machine may be a container.
    const base = { listen, server: { name: 'irc.test', motd: 'motd.txt', restart: 'reexec' }, log: { level: 'info' }, store: { path: join(dir, 'proc.db') } };
    rewrite(cfg, base);
    const daemon = daemons.spawn(cfg);
    const c = await daemons.connectWhenUp(port);
    await c.register('proc');
    expect(await linksInfo(c)).toBe('0 An IRC server');

    rewrite(cfg, { ...base, server: { ...base.server, description: 'After SIGHUP' }, store: { path: join(dir, 'moved.db') } });
    daemon.child.kill('SIGHUP');
    await waitUntil(() => daemon.stdout().includes('needs a restart'), 2500);
    expect(daemon.stdout()).toMatch(/configuration reloaded.*\n.*changed but needs a restart: store\.path/);
    expect(await linksInfo(c)).toBe('0 After SIGHUP');

    rewrite(cfg, { ...base, limits: { nicklen: 2 } });
    daemon.child.kill('SIGHUP');
    await waitUntil(() => daemon.stdout().includes('rehash failed'), 2500);
    expect(daemon.stdout()).toMatch(/limits\.nicklen: .*\(got 2\).*rehash failed/);
    expect(await linksInfo(c)).toBe('0 After SIGHUP');

    rewrite(cfg, base);
    await operUp(c);
    c.send('RESTART :upgrade');
    expect((await c.waitFor('ERROR')).params[0]).toMatch(/Restart by proc: upgrade/);
    expect((await daemon.exited).code).toBe(0);

    // The re-executed process (detached, so not `daemon`) serves the same port; DIE ends it.
    const again = await daemons.connectWhenUp(port);
    await again.register('back');
    await operUp(again);
    again.send('DIE :done');
    await again.waitFor('ERROR');
    await again.waitClosed();
  });
});
