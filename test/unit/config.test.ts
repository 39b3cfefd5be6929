import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/password.js';
import { ConfigError, loadConfig, parseConfigText } from '../../src/config/load.js';

const base = `
[[listen]]
port = 6667
[[class]]
name = "default"
[[allow]]
mask = "*"
class = "default"
`;

function problems(text: string): string[] {
  try {
    parseConfigText(text, '/etc/ircd/test.toml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('config was accepted');
}

describe('config validation', () => {
  it('accepts a minimal config and fills defaults', () => {
    const cfg = parseConfigText(base, '/etc/ircd/test.toml');
    expect(cfg.server.casemapping).toBe('rfc1459');
    expect(cfg.limits.nicklen).toBe(30);
    expect(cfg.class[0]!.flood.burst).toBe(10);
    expect(cfg.listen[0]!.address).toBe('127.0.0.1');
  });

  it('resolves relative paths against the config folder', () => {
    const cfg = parseConfigText(base + '[server]\nmotd = "motd.txt"\n[store]\npath = "data/x.db"\n', '/etc/ircd/test.toml');
    expect(cfg.server.motd).toBe('/etc/ircd/motd.txt');
    expect(cfg.store.path).toBe('/etc/ircd/data/x.db');
  });

  it('names the key path, the bad value and what was expected', () => {
    const p = problems(base + '[[listen]]\nport = 70000\n');
    expect(p.join('\n')).toMatch(/listen\[1\]\.port: .*65535.*\(got 70000\)/);
  });

  it('rejects unknown keys (typos)', () => {
    expect(problems(base + '[limits]\nnicklenn = 9\n').join('\n')).toMatch(/limits\.nicklenn: unknown key/);
    expect(problems(base + '[sever]\nname = "a.b"\n').join('\n')).toMatch(/sever: unknown key/);
  });

  it('rejects wrong types', () => {
    expect(problems(base + '[limits]\nnicklen = "thirty"\n').join('\n')).toMatch(/limits\.nicklen: .*number.*\(got "thirty"\)/);
  });

  it('requires listeners, classes and allow blocks', () => {
    expect(problems('').join('\n')).toMatch(/listen: /);
  });

  it('checks that allow blocks name an existing class', () => {
    expect(problems(base + '[[allow]]\nmask = "10.0.0.0/8"\nclass = "nope"\n').join('\n')).toMatch(/allow\[1\]\.class: no \[\[class\]\] named "nope"/);
  });

  it('refuses plaintext passwords and accepts mkpasswd hashes', () => {
    expect(problems(base.replace('class = "default"\n', 'class = "default"\npassword = "hunter2"\n')).join('\n')).toMatch(
      /allow\[0\]\.password: .*mkpasswd/,
    );
    const ok = parseConfigText(base + `[[allow]]\nmask = "*"\nclass = "default"\npassword = "${hashPassword('pw')}"\n`, 'x.toml');
    expect(ok.allow[1]!.password).toMatch(/^\$scrypt\$/);
  });

  it('checks WebIRC gateways: addresses, a hashed password, a name', () => {
    const bad = problems(base + `[[webirc]]\nname = "kiwi gw"\nhosts = ["not-an-ip", "10.0.0.0/33"]\npassword = "plain"\n`).join('\n');
    expect(bad).toMatch(/webirc\[0\]\.name/);
    expect(bad).toMatch(/webirc\[0\]\.hosts\[0\]: .*IP address or CIDR/);
    expect(bad).toMatch(/webirc\[0\]\.hosts\[1\]/);
    expect(bad).toMatch(/webirc\[0\]\.password: .*mkpasswd/);
    const ok = parseConfigText(base + `[[webirc]]\nname = "kiwi"\nhosts = ["192.0.2.0/24", "::1"]\npassword = "${hashPassword('pw')}"\n`, 'x.toml');
    expect(ok.webirc[0]).toMatchObject({ name: 'kiwi', trust_hostname: true });
  });

  it('allows "&" as a prefix symbol unless it is also a channel type', () => {
    expect(parseConfigText(base + '[channels]\nprefix = "(qaohv)~&@%+"\n', 'x.toml').channels.prefix).toBe('(qaohv)~&@%+');
    expect(problems(base + '[channels]\nprefix = "(qaohv)~&@%+"\ntypes = "#&"\n').join('\n')).toMatch(
      /channels\.prefix: prefix symbol "&" is also a channel type/,
    );
  });

  it('reports TOML syntax errors with line and column', () => {
    expect(problems('[server\nname = 1').join('\n')).toMatch(/TOML syntax error at line 1/);
  });

  it('reports an unreadable file by name', () => {
    expect(() => loadConfig('/nonexistent/ircd.toml')).toThrow(/\/nonexistent\/ircd\.toml: invalid configuration[\s\S]*cannot read/);
  });

  it('validates the shipped default config', () => {
    const cfg = loadConfig(join(__dirname, '../../config/ircd.toml'));
    expect(cfg.listen[0]).toMatchObject({ address: '127.0.0.1', port: 6667 });
  });

  it('reports every problem at once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'bad.toml');
    writeFileSync(file, base + '[limits]\nnicklen = 2\ntopiclen = -1\n');
    try {
      loadConfig(file);
      throw new Error('accepted');
    } catch (err) {
      expect((err as ConfigError).problems.length).toBe(2);
      expect((err as Error).message).toContain(file);
    }
  });
});
