// config/public.example.toml, as docs/operating.md has the operator use it: refused until its
// two secrets are filled in, then checked and run as a real process with its own secret, oper
// hash and certificate (loopback addresses and free ports instead of the public ones), with
// renewed certificates installed by deploy/ircd-cert-hook as certbot and lego run it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { parse } from 'smol-toml';
import { afterEach, describe, expect, it } from 'vitest';
import { runIrcd, useDaemons } from '../support/daemon.js';
import { freePort, TestClient, toToml, waitUntil, type RawConfig } from '../support/harness.js';
import { makeSelfSignedCert } from '../support/tls.js';

const ROOT = join(__dirname, '../..');
const EXAMPLE = join(ROOT, 'config/public.example.toml');
const cli = (args: string[], input?: string) => runIrcd(args, { input });

const daemons = useDaemons();
const clients: TestClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

function healthz(port: number): Promise<number> {
  return new Promise((resolve, reject) => get({ host: '127.0.0.1', port, path: '/healthz' }, (res) => resolve(res.statusCode!)).on('error', reject));
}

describe('config/public.example.toml', () => {
  it('is refused as shipped, naming only the secret and the oper password to fill in', () => {
    const res = cli(['check', EXAMPLE]);
    expect(res.status).toBe(1);
    const keys = res.stderr
      .split('\n')
      .slice(1, -1)
      .map((line) => /^ {2}- ([\w.[\]]+): /.exec(line)?.[1]);
    expect(new Set(keys)).toEqual(new Set(['cloaking.secret', 'oper[0].password']));
  });

  it('has a certificate hook that refuses to run without a certificate from certbot or lego', () => {
    const hook = spawnSync(join(ROOT, 'deploy/ircd-cert-hook'), { env: { PATH: process.env.PATH }, encoding: 'utf8' });
    expect(hook.status).toBe(1);
    expect(hook.stderr).toBe("ircd-cert-hook: no certificate given; run me as certbot's or lego's deploy hook\n");
  });

  it('runs once filled in: TLS and plain listeners, cloaks, OPER, REHASH, renewed certificates through the ACME hook, /healthz', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ircd-public-'));
    const secret = cli(['gensecret']);
    const hash = cli(['mkpasswd'], 'a-long-oper-password\n');
    expect([secret.status, hash.status]).toEqual([0, 0]);

    // The operator's edits, and loopback addresses with free ports in place of the public ones.
    const raw = parse(readFileSync(EXAMPLE, 'utf8')) as RawConfig & Record<string, any>;
    raw.cloaking.secret = secret.stdout.trim();
    raw.oper[0].password = hash.stdout.trim();
    const cert = makeSelfSignedCert('irc.example.net');
    const tls = { cert: join(dir, 'fullchain.pem'), key: join(dir, 'privkey.pem') };
    copyFileSync(cert.cert, tls.cert);
    copyFileSync(cert.key, tls.key);
    const [tlsPort, plainPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
    expect(raw.listen.map((l: RawConfig) => [l.port, Boolean(l.tls)])).toEqual([[6697, true], [6667, false]]);
    raw.listen = [
      { ...raw.listen[0], address: '127.0.0.1', port: tlsPort, tls },
      { ...raw.listen[1], address: '127.0.0.1', port: plainPort },
    ];
    raw.metrics.port = metricsPort;
    // STS needs a certificate that verifies for server.name (tls-cli and sts tests cover that);
    // this run's certificates are self-signed, as on a machine that cannot reach an ACME CA.
    expect(raw.sts.enabled).toBe(true);
    raw.sts.enabled = false;
    raw.store.path = join(dir, 'ircd.db');
    copyFileSync(join(ROOT, 'motd.txt'), join(dir, 'motd.txt'));
    const configPath = join(dir, 'ircd.toml');
    writeFileSync(configPath, toToml(raw));
    const check = cli(['check', configPath]);
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);

    const daemon = daemons.spawn(configPath);
    const cnOf = async () => ((await daemons.connectWhenUp(tlsPort, { tls: true })).socket as TLSSocket).getPeerCertificate().subject.CN;

    const op = await daemons.connectWhenUp(tlsPort, { tls: true });
    expect((op.socket as TLSSocket).getPeerCertificate().subject.CN).toBe('irc.example.net');
    op.send('NICK op');
    op.send('USER op 0 * :Operator');
    await op.waitFor('376');
    // Cloaking is on by default: the address is replaced right after the welcome.
    expect((await op.waitFor('396')).params[1]).toMatch(/^[0-9a-f]{8}\.[0-9a-f]{8}\.[0-9a-f]{8}\.IP$/);
    op.send('OPER admin a-long-oper-password');
    await op.waitFor('381');
    op.send('REHASH');
    expect((await op.waitFor('382')).params[1]).toBe(configPath);

    const plain = await TestClient.connect(plainPort);
    clients.push(plain);
    plain.send('CAP LS 302');
    expect((await plain.waitFor('CAP')).params.at(-1)).not.toContain('sts');
    expect(await healthz(metricsPort)).toBe(200);

    // Renewals as certbot and lego report them to deploy/ircd-cert-hook, which installs the files
    // and reloads the server (SIGHUP here, as `systemctl reload` sends it).
    const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();
    const hookEnv = { IRCD_TLS_DIR: dir, IRCD_GROUP: group, IRCD_RELOAD: `kill -HUP ${daemon.child.pid}` };
    const renewals: Array<[string, (c: { cert: string; key: string }) => Record<string, string>]> = [
      ['certbot.example.net', (c) => {
        const lineage = mkdtempSync(join(tmpdir(), 'ircd-live-'));
        copyFileSync(c.cert, join(lineage, 'fullchain.pem'));
        copyFileSync(c.key, join(lineage, 'privkey.pem'));
        return { RENEWED_LINEAGE: lineage };
      }],
      ['lego.example.net', (c) => ({ LEGO_HOOK_CERT_PATH: c.cert, LEGO_HOOK_CERT_KEY_PATH: c.key })],
    ];
    for (const [i, [name, env]] of renewals.entries()) {
      const hook = spawnSync(join(ROOT, 'deploy/ircd-cert-hook'), { env: { PATH: process.env.PATH, ...hookEnv, ...env(makeSelfSignedCert(name)) }, encoding: 'utf8' });
      expect(hook.stderr).toBe('');
      expect(hook.status).toBe(0);
      expect(statSync(tls.key).mode & 0o777).toBe(0o640);
      expect(await waitUntil(() => (daemon.output().match(/configuration reloaded/g) ?? []).length === 2 + i, 5000)).toBe(true);
      expect(await cnOf()).toBe(name);
    }
    op.send('PING still-here');
    expect((await op.waitFor('PONG')).params.at(-1)).toBe('still-here');

    expect((await daemon.kill('SIGTERM')).code).toBe(0);
    expect(daemon.output()).not.toMatch(/"level":(50|60)/);
  });
});
