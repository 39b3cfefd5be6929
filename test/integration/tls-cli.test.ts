// TLS listeners and the command line: check, mkpasswd, gensecret, --version, a real process and SIGTERM.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { cloakSecretProblem } from '../../src/auth/cloak.js';
import { verifyPassword } from '../../src/auth/password.js';
import { MAIN, runIrcd, useDaemons } from '../support/daemon.js';
import { sleep, TestClient, toToml, testConfig, waitUntil } from '../support/harness.js';
import { useSession } from '../support/session.js';
import { makeCaSignedCert, makeSelfSignedCert } from '../support/tls.js';

const s = useSession();
const daemons = useDaemons();

describe('TLS listener', () => {
  it('serves TLS and plain listeners side by side', async () => {
    const { cert, key } = makeSelfSignedCert();
    const srv = await s.start({
      listen: [
        { address: '127.0.0.1', port: 0, tls: { cert, key } },
        { address: '127.0.0.1', port: 0 },
      ],
    });
    const tlsPort = [...srv.server.listeners.values()].find((l) => l.cfg.tls)!.port;
    const c = await TestClient.connectTls(tlsPort);
    expect(c.socket).toBeInstanceOf(TLSSocket);
    expect((c.socket as TLSSocket).getPeerCertificate().subject.CN).toBe('irc.test');
    await c.register('secure');
    expect([...srv.server.state.clients].find((x) => x.nick === 'secure')!.secure).toBe(true);
    c.close();
  });

  it('advertises sts with the TLS port on plain connections and the duration on TLS ones', async () => {
    const { cert, key, ca } = makeCaSignedCert('irc.test');
    const srv = await s.start({
      listen: [
        { address: '127.0.0.1', port: 0 },
        { address: '127.0.0.1', port: 0, tls: { cert, key } },
      ],
      sts: { enabled: true, duration: 300, ca_file: ca },
    });
    const tlsPort = [...srv.server.listeners.values()].find((l) => l.cfg.tls)!.port;
    const plain = await TestClient.connect(srv.port);
    plain.send('CAP LS 302');
    expect((await plain.waitFor('CAP')).params.at(-1)).toContain(`sts=port=${tlsPort}`);
    const secure = await TestClient.connectTls(tlsPort);
    secure.send('CAP LS 302');
    expect((await secure.waitFor('CAP')).params.at(-1)).toContain('sts=duration=300');
    plain.close();
    secure.close();
  });

  it('does not advertise sts unless enabled, even with a TLS listener', async () => {
    const { cert, key, ca } = makeCaSignedCert('irc.test');
    const srv = await s.start({ listen: [{ address: '127.0.0.1', port: 0 }, { address: '127.0.0.1', port: 0, tls: { cert, key } }], sts: { ca_file: ca } });
    const c = await TestClient.connect(srv.port);
    c.send('CAP LS 302');
    expect((await c.waitFor('CAP')).params.at(-1)).not.toMatch(/(^| )sts/);
    c.close();
  });

  it('refuses to start with sts enabled when the certificate does not verify for the server name', async () => {
    const listen = ({ cert, key }: { cert: string; key: string }) => [{ address: '127.0.0.1', port: 0 }, { address: '127.0.0.1', port: 0, tls: { cert, key } }];
    const self = makeSelfSignedCert('irc.test');
    await expect(s.start({ listen: listen(self), sts: { enabled: true } })).rejects.toThrow(
      new RegExp(`^sts\\.enabled: the certificate ${self.cert} \\(TLS listener on port 0\\) does not verify for irc\\.test: self-signed certificate\\. STS would make clients refuse`),
    );
    // Signed by a CA that is trusted, but for another name.
    const other = makeCaSignedCert('other.test');
    await expect(s.start({ listen: listen(other), sts: { enabled: true, ca_file: other.ca } })).rejects.toThrow(
      /does not verify for irc\.test: Hostname\/IP does not match certificate's altnames/,
    );
    // Signed by a CA nobody was told to trust.
    const unknown = makeCaSignedCert('irc.test');
    await expect(s.start({ listen: listen(unknown), sts: { enabled: true } })).rejects.toThrow(/does not verify for irc\.test: unable to (get local issuer|verify the first) certificate/);
  });
  it('bounds silent sockets in the TLS handshake per address; other addresses still get TLS', async () => {
    const { cert, key } = makeSelfSignedCert();
    const srv = await s.start({ listen: [{ address: '127.0.0.1', port: 0, tls: { cert, key } }] });
    const port = [...srv.server.listeners.values()][0]!.port;
    // Plain TCP sockets that never send a ClientHello, from one address.
    const silent = await Promise.all(
      Array.from({ length: 12 }, () => new Promise<Socket>((resolve) => {
        const sock = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' }, () => resolve(sock));
        sock.on('error', () => {});
      })),
    );
    const closed = await Promise.all(
      silent.map((sock) => new Promise<boolean>((resolve) => {
        if (sock.destroyed) return resolve(true);
        sock.once('close', () => resolve(true));
        setTimeout(() => resolve(false), 1000);
      })),
    );
    // Eight may wait for their handshake; the rest are dropped at once.
    expect(closed.filter(Boolean)).toHaveLength(4);
    const c = await TestClient.connectTls(port);
    await c.register('bystander');
    c.close();
    for (const sock of silent) sock.destroy();
    // Their places come back: a new silent socket from that address is held again.
    await sleep(100);
    const again = await new Promise<Socket>((resolve) => {
      const sock = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' }, () => resolve(sock));
    });
    const dropped = await new Promise<boolean>((resolve) => {
      again.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 500);
    });
    expect(dropped).toBe(false);
    again.destroy();
  });
});

describe('command line', () => {
  it('check exits 0 for a valid config and 1 listing every error with the key path, TLS files included', () => {
    const ok = runIrcd(['check', join(__dirname, '../../config/ircd.toml')]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/configuration is valid/);
    const dir = tmpdir();
    const bad = join(dir, `bad-${process.pid}.toml`);
    writeFileSync(bad, toToml({ ...testConfig(), limits: { nicklen: 3, bogus: 1 } }));
    const res = runIrcd(['check', bad]);
    expect(res.status).toBe(1);
    expect(res.stderr).toContain(bad);
    expect(res.stderr).toMatch(/limits\.nicklen: .*\(got 3\)/);
    expect(res.stderr).toMatch(/limits\.bogus: unknown key/);
    const a = makeSelfSignedCert('a.test');
    const b = makeSelfSignedCert('b.test');
    const tlsBad = join(dir, `tls-${process.pid}.toml`);
    const listen = [
      { address: '127.0.0.1', port: 6697, tls: a },
      { address: '127.0.0.1', port: 6698, tls: { cert: a.cert, key: b.key } },
      { address: '127.0.0.1', port: 6699, tls: { cert: a.cert, key: join(dir, 'nowhere.key') } },
    ];
    writeFileSync(tlsBad, toToml(testConfig({ listen })));
    const tlsRes = runIrcd(['check', tlsBad]);
    expect(tlsRes.status).toBe(1);
    const [mismatch, missing, ...rest] = tlsRes.stderr.split('\n').slice(1, -1);
    expect(mismatch!.startsWith(`  - listen[1].tls: the TLS certificate ${a.cert} and key ${b.key} do not load together: `)).toBe(true);
    expect(mismatch).toMatch(/key values mismatch$/);
    expect(missing).toBe(`  - listen[2].tls: cannot read the TLS key ${join(dir, 'nowhere.key')}: no such file`);
    expect(rest).toEqual([]);
  });

  it('check says "not found" for a missing file, warns about an unreadable MOTD, and suggests key names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ircd-check-'));
    const missing = runIrcd(['check', join(dir, 'nope.toml')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`${join(dir, 'nope.toml')}: not found\n`);

    const cfg = join(dir, 'ircd.toml');
    writeFileSync(cfg, toToml({ ...testConfig(), server: { name: 'irc.test', motd: 'no-such-motd.txt' } }));
    const warned = runIrcd(['check', cfg]);
    expect(warned.status).toBe(0);
    expect(warned.stdout).toMatch(/configuration is valid/);
    expect(warned.stderr).toBe(`${cfg}: warning: server.motd: ${join(dir, 'no-such-motd.txt')} does not exist; clients will be told the MOTD is missing\n`);

    const { listen: _none, ...noListen } = testConfig();
    writeFileSync(cfg, toToml({ ...noListen, limits: { nicklenn: 20 } }));
    const bad = runIrcd(['check', cfg]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^ {2}- no \[\[listen\]\] block: the server needs at least one address and port/m);
    expect(bad.stderr).toContain('limits.nicklenn: unknown key (did you mean "nicklen"?)');
  });

  it('check refuses sts with a certificate it cannot verify, and trusts NODE_EXTRA_CA_CERTS', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ircd-check-'));
    const { cert, key, ca } = makeCaSignedCert('irc.test', dir);
    const cfg = join(dir, 'ircd.toml');
    writeFileSync(join(dir, 'motd.txt'), 'hello\n');
    writeFileSync(cfg, toToml({ ...testConfig({ listen: [{ address: '127.0.0.1', port: 6697, tls: { cert, key } }] }), sts: { enabled: true } }));
    const refused = runIrcd(['check', cfg]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/invalid configuration\n {2}- sts\.enabled: the certificate .* does not verify for irc\.test: /);
    const trusted = runIrcd(['check', cfg], { env: { ...process.env, NODE_EXTRA_CA_CERTS: ca } });
    expect(trusted.stderr).toBe('');
    expect(trusted.status).toBe(0);
  });

  it('mkpasswd reads stdin and prints a verifiable hash', async () => {
    const res = runIrcd(['mkpasswd'], { input: 'correct horse\n' });
    expect(res.status).toBe(0);
    const hash = res.stdout.trim();
    expect(hash).toMatch(/^\$scrypt\$N=16384,r=8,p=1\$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('wrong', hash)).toBe(false);
  });

  it('gensecret prints a new secret each time that [cloaking] accepts', () => {
    const make = () => runIrcd(['gensecret']);
    const [a, b] = [make(), make()];
    expect(a.status).toBe(0);
    expect(a.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(b.stdout).not.toBe(a.stdout);
    expect(cloakSecretProblem(a.stdout.trim())).toBeUndefined();
  });

  it('mkpasswd on a terminal asks twice without echo, and fails when the answers differ', async () => {
    // util-linux `script` runs the command on a pseudo-terminal; -e passes its exit status on.
    const onTerminal = async (answers: string[]) => {
      const proc = spawn('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)} mkpasswd`, '/dev/null'], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      proc.stdout.on('data', (d) => (out += d));
      const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
      for (const [i, prompt] of ['Password: ', 'Again: '].entries()) {
        expect(await waitUntil(() => out.includes(prompt), 10000), `no prompt "${prompt}" in ${JSON.stringify(out)}`).toBe(true);
        proc.stdin.write(answers[i] + '\r');
      }
      const code = await exited;
      return { code, out };
    };
    const ok = await onTerminal(['Tr0ub4dor&3', 'Tr0ub4dor&3']);
    expect(ok.code).toBe(0);
    expect(ok.out).not.toContain('Tr0ub4dor');
    const hash = /\$scrypt\$\S+/.exec(ok.out)![0];
    expect(await verifyPassword('Tr0ub4dor&3', hash)).toBe(true);

    const mismatch = await onTerminal(['Tr0ub4dor&3', 'Tr0ub4dor&4']);
    expect(mismatch.code).toBe(1);
    expect(mismatch.out).toContain('ircd: the passwords do not match');
    expect(mismatch.out).not.toMatch(/\$scrypt\$/);
  });

  it('prints the version and help', () => {
    expect(runIrcd(['--version']).stdout).toMatch(/^ircd \d+\.\d+\.\d+/);
    expect(runIrcd(['--help']).stdout).toMatch(/ircd --config FILE/);
  });

  it('runs as a process, fails clearly when the port is taken, and exits 0 on SIGTERM after telling clients', async () => {
    const srv = await s.start();
    const dir = srv.dir;
    const busy = join(dir, 'busy.toml');
    writeFileSync(busy, toToml(testConfig({ listen: [{ address: '127.0.0.1', port: srv.port }], store: { path: join(dir, 'a.db') } })));
    const clash = runIrcd(['--config', busy], { timeout: 10000 });
    expect(clash.status).toBe(1);
    expect(clash.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${srv.port}: the port is already in use`));

    const cfgPath = join(dir, 'proc.toml');
    writeFileSync(cfgPath, toToml(testConfig({ listen: [{ address: '127.0.0.1', port: 0 }], log: { level: 'info' }, store: { path: join(dir, 'b.db') } })));
    const daemon = daemons.spawn(cfgPath);
    const listening = /"port":(\d+),"tls":false,"msg":"listening"/;
    expect(await waitUntil(() => listening.test(daemon.stdout()), 10000), `no listening log: ${daemon.stdout()}`).toBe(true);
    const port = Number(listening.exec(daemon.stdout())![1]);
    const c = await TestClient.connect(port);
    await c.register('proc');
    const exited = daemon.kill('SIGTERM');
    expect((await c.waitFor('ERROR')).params[0]).toMatch(/shutting down/);
    expect((await exited).code).toBe(0);
  });
});
