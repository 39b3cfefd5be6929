import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/password.js';
import { ConfigError, configWarnings, loadConfig, parseConfigText } from '../../src/config/load.js';
import { historyBackend } from '../../src/config/schema.js';
import { editDistance, nearestName } from '../../src/config/suggest.js';

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

  it('rejects unknown keys (typos) and names the nearest valid key', () => {
    expect(problems(base + '[limits]\nnicklenn = 9\n')).toEqual(['limits.nicklenn: unknown key (did you mean "nicklen"?)']);
    expect(problems(base + '[sever]\nname = "a.b"\n')).toEqual(['sever: unknown key (did you mean "server"?)']);
    // Inside arrays of tables and nested tables too.
    expect(problems(base + '[[listen]]\nport = 6697\nwebsocked = true\n')).toEqual(['listen[1].websocked: unknown key (did you mean "websocket"?)']);
    expect(problems(base + '[server.admin]\nemial = "a@b.c"\n')).toEqual(['server.admin.emial: unknown key (did you mean "email"?)']);
    // Nothing near: no guess.
    expect(problems(base + '[limits]\nbogus = 1\n')).toEqual(['limits.bogus: unknown key (check the spelling)']);
  });

  it('leaves sts off by default, and refuses it without a TLS listener to send clients to', () => {
    expect(parseConfigText(base, '/etc/ircd/test.toml').sts.enabled).toBe(false);
    expect(problems(base + '[sts]\nenabled = true\n')).toEqual(['sts.enabled: STS needs a [[listen]] block with tls (got true)']);
    const tls = '[[listen]]\nport = 6697\ntls = { cert = "c.pem", key = "k.pem" }\n';
    expect(parseConfigText(base + tls + '[sts]\nenabled = true\nca_file = "ca.pem"\n', '/etc/ircd/test.toml').sts.ca_file).toBe('/etc/ircd/ca.pem');
    expect(problems(base + tls + '[sts]\nenabled = true\nport = 6698\n')).toEqual(['sts.port: no [[listen]] block with tls on port 6698 (got 6698)']);
  });

  it('rejects wrong types', () => {
    expect(problems(base + '[limits]\nnicklen = "thirty"\n').join('\n')).toMatch(/limits\.nicklen: .*number.*\(got "thirty"\)/);
  });

  it('requires listeners, classes and allow blocks, and says so in plain words', () => {
    expect(problems('')).toEqual([
      expect.stringMatching(/^no \[\[listen\]\] block: the server needs at least one address and port/),
      expect.stringMatching(/^no \[\[class\]\] block: /),
      expect.stringMatching(/^no \[\[allow\]\] block: /),
    ]);
    expect(problems('listen = []\n' + base.replace(/\[\[listen\]\]\nport = 6667\n/, ''))).toEqual([expect.stringMatching(/^no \[\[listen\]\] block: /)]);
    expect(problems(base.replace(/\[\[listen\]\]\nport = 6667\n/, '')).join('\n')).not.toMatch(/expected array|undefined/);
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

  it('says a missing file is not found, and an unreadable one cannot be read', () => {
    expect(() => loadConfig('/nonexistent/ircd.toml')).toThrow(/^\/nonexistent\/ircd\.toml: not found$/);
    const dir = mkdtempSync(join(tmpdir(), 'ircd-cfg-'));
    expect(() => loadConfig(dir)).toThrow(new RegExp(`^${dir}: cannot be read\\n  - EISDIR`));
  });

  it('warns about a MOTD file that does not exist or cannot be read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ircd-cfg-'));
    const file = join(dir, 'ircd.toml');
    expect(configWarnings(parseConfigText(base + '[server]\nmotd = "gone.txt"\n', file))).toEqual([
      `server.motd: ${join(dir, 'gone.txt')} does not exist; clients will be told the MOTD is missing`,
    ]);
    expect(configWarnings(parseConfigText(base + '[server]\nmotd = "."\n', file))).toEqual([
      `server.motd: ${dir} cannot be read (EISDIR); clients will be told the MOTD is missing`,
    ]);
    writeFileSync(join(dir, 'motd.txt'), 'hello\n');
    expect(configWarnings(parseConfigText(base + '[server]\nmotd = "motd.txt"\n', file))).toEqual([]);
  });

  it('keeps history in the store by default when the store is a file, in memory when it is in memory', () => {
    const backend = (text: string) => historyBackend(parseConfigText(base + text, '/etc/ircd/test.toml'));
    expect(backend('')).toBe('sqlite');
    expect(backend('[store]\npath = ":memory:"\n')).toBe('memory');
    expect(backend('[store]\npath = ":memory:"\n[history]\nbackend = "sqlite"\n')).toBe('sqlite');
    expect(backend('[history]\nbackend = "memory"\n')).toBe('memory');
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

describe('server links', () => {
  const hash = hashPassword('linkpass');
  const link = (extra = '') => `[[link]]\nname = "hub.test"\naddress = "127.0.0.1"\nsend_password = "x"\naccept_password = "${hash}"\n${extra}`;

  it('checks the server id, and needs one with [[link]] blocks', () => {
    expect(problems(base + '[server]\nsid = "ABC"\n')).toEqual([expect.stringMatching(/^server\.sid: a digit and two uppercase letters or digits/)]);
    expect(problems(base + link())).toEqual([expect.stringMatching(/^server\.sid: \[\[link\]\] blocks and servers listeners need a server id/)]);
    expect(problems(base + '[[listen]]\nport = 6666\nservers = true\nwebsocket = true\n')).toEqual([
      expect.stringMatching(/^server\.sid: /),
      expect.stringMatching(/^listen\[1\]\.servers: a servers listener takes TS6 links: no websocket or proxy/),
    ]);
    const cfg = parseConfigText(base + '[server]\nsid = "1AB"\n' + link(), '/etc/ircd/test.toml');
    expect(cfg.link[0]).toMatchObject({ name: 'hub.test', port: 6666, autoconnect: false, retry: 60, hub: false, class: 'default', allow_plaintext: false });
  });

  it('refuses a plaintext link off loopback unless allowed, a plaintext password hash, and an unknown class', () => {
    const sid = '[server]\nsid = "1AB"\n';
    expect(problems(base + sid + link().replace('127.0.0.1', '192.0.2.1'))).toEqual([expect.stringMatching(/^link\[0\]\.address: a link off loopback needs tls = true with a pinned fingerprint/)]);
    expect(parseConfigText(base + sid + link('allow_plaintext = true\n').replace('127.0.0.1', '192.0.2.1'), '/x.toml').link[0]!.address).toBe('192.0.2.1');
    // TLS with the peer's certificate pinned is enough off loopback; TLS alone is not, and a fingerprint needs TLS.
    const fp = 'AB:'.repeat(31) + 'AB';
    expect(parseConfigText(base + sid + link(`tls = true\nfingerprint = "${fp}"\n`).replace('127.0.0.1', '192.0.2.1'), '/x.toml').link[0]!.fingerprint).toBe('ab'.repeat(32));
    expect(problems(base + sid + link('tls = true\n').replace('127.0.0.1', '192.0.2.1'))).toEqual([expect.stringMatching(/^link\[0\]\.address: a link off loopback/)]);
    expect(problems(base + sid + link(`fingerprint = "${fp}"\n`))).toEqual([expect.stringMatching(/^link\[0\]\.fingerprint: a fingerprint is checked on TLS links only/)]);
    expect(problems(base + sid + link().replace(hash, 'plain'))).toEqual([expect.stringMatching(/^link\[0\]\.accept_password: a hash made by/)]);
    expect(problems(base + sid + link('class = "none"\n'))).toEqual([expect.stringMatching(/^link\[0\]\.class: no \[\[class\]\] named "none"/)]);
  });

  it('takes hub_mask on a hub only, as non-empty globs', () => {
    const sid = '[server]\nsid = "1AB"\n';
    expect(parseConfigText(base + sid + link('hub = true\nhub_mask = ["*.example.net"]\n'), '/x.toml').link[0]!.hub_mask).toEqual(['*.example.net']);
    expect(parseConfigText(base + sid + link('hub = true\n'), '/x.toml').link[0]!.hub_mask).toBeUndefined();
    expect(problems(base + sid + link('hub_mask = ["*.example.net"]\n'))).toEqual([expect.stringMatching(/^link\[0\]\.hub_mask: a leaf introduces no servers: set hub = true/)]);
    expect(problems(base + sid + link('hub = true\nhub_mask = []\n'))).toEqual([expect.stringMatching(/^link\[0\]\.hub_mask: /)]);
    expect(problems(base + sid + link('hub = true\nhub_mask = ["a b"]\n'))).toEqual([expect.stringMatching(/^link\[0\]\.hub_mask\[0\]: a server name glob without spaces/)]);
  });

  it('needs NickServ off without accounts, and accounts to answer SASL for the network', () => {
    expect(problems(base + '[accounts]\nenabled = false\n')).toEqual([expect.stringMatching(/^services\.enabled: NickServ needs accounts/)]);
    expect(problems(base + '[accounts]\nenabled = false\n[services]\nenabled = false\n[sasl]\nserve_network = true\n')).toEqual([
      expect.stringMatching(/^sasl\.serve_network: answering SASL for the network needs \[accounts\] enabled = true/),
    ]);
    expect(problems(base + '[services]\nservers = ["nodot"]\n')).toEqual([expect.stringMatching(/^services\.servers\[0\]: a server name with at least one dot/)]);
    const cfg = parseConfigText(base + '[accounts]\nenabled = false\n[services]\nenabled = false\nservers = ["services.test"]\n', '/x.toml');
    expect([cfg.accounts.enabled, cfg.services.servers, cfg.sasl.agent, cfg.sasl.serve_network]).toEqual([false, ['services.test'], 'SaslServ', false]);
  });
});

describe('key suggestions', () => {
  it('edit distance is zero only for equal words, symmetric, and at most the longer length', () => {
    const word = fc.string({ maxLength: 12 });
    fc.assert(
      fc.property(word, word, (a, b) => {
        expect(editDistance(a, b) === 0).toBe(a === b);
        expect(editDistance(a, b)).toBe(editDistance(b, a));
        expect(editDistance(a, b)).toBeLessThanOrEqual(Math.max(a.length, b.length));
        expect(editDistance(a, b)).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
      }),
    );
  });

  it('one insertion, deletion, substitution or swap of neighbours costs one', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 2, maxLength: 12 }), fc.nat(), fc.constantFrom('x', 'é'), (w, at, ch) => {
        const i = at % (w.length - 1);
        for (const edited of [w.slice(0, i) + ch + w.slice(i), w.slice(0, i) + w.slice(i + 1), w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2)])
          expect(editDistance(w, edited)).toBeLessThanOrEqual(1);
      }),
    );
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('emial', 'email')).toBe(1);
  });

  it('suggests a name one typo away, and nothing when every name is far', () => {
    fc.assert(
      fc.property(fc.constantFrom('nicklen', 'channellen', 'topiclen', 'awaylen'), fc.nat(), (name, at) => {
        const i = at % name.length;
        const typo = name.slice(0, i) + name.slice(i + 1); // one letter dropped
        expect(nearestName(typo, ['nicklen', 'channellen', 'topiclen', 'awaylen'])).toBe(name);
      }),
    );
    expect(nearestName('bogus', ['nicklen', 'channellen'])).toBeUndefined();
  });
});
