// The admin API ([api]) on a real server: every endpoint, its privilege check (403), validation
// errors, authentication and its failure limit, the OpenAPI description, the panel's headers,
// and IRC clients seeing what the API changed.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/auth/password.js';
import { loadConfig } from '../../src/config/load.js';
import { accountStore } from '../../src/modules/accounts.js';
import { apiPort } from '../../src/modules/api/index.js';
import { bansOf } from '../../src/modules/bans.js';
import { ADMIN, api, apiSection, BANNER, READER, startApiServer } from '../support/api.js';
import { runIrcd } from '../support/daemon.js';
import { client, TestClient, toToml, testConfig, type TestServer } from '../support/harness.js';
import { operConfig, operUp } from '../support/oper.js';
import { makeSelfSignedCert } from '../support/tls.js';

let ts: (TestServer & { base: string }) | undefined;
afterEach(async () => {
  await ts?.stop();
  ts = undefined;
});

async function start(patch = {}, apiExtra = {}) {
  ts = await startApiServer(operConfig(patch), apiExtra);
  return ts;
}

describe('authentication and request handling', () => {
  it('answers 401 without a token or with a wrong one, and 429 after too many failures from one address', async () => {
    const { base } = await start({}, { auth_failures_per_ip: 3 });
    const none = await api(base, 'GET', '/api/status', { token: null });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('UNAUTHORIZED');
    expect((await api(base, 'GET', '/api/status', { token: 'ircd_wrong' })).body.error.code).toBe('UNAUTHORIZED');
    expect((await api(base, 'GET', '/api/status', { headers: { authorization: 'Basic abc' }, token: null })).status).toBe(401);
    const limited = await api(base, 'GET', '/api/status');
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
  });

  it('answers 404 and 405 (with Allow) as JSON, and refuses bodies that are too large, not JSON or not valid', async () => {
    const { base } = await start({}, { max_body_bytes: 1024 });
    const missing = await api(base, 'GET', '/api/nothing');
    expect([missing.status, missing.body.error.code]).toEqual([404, 'NOT_FOUND']);
    const wrong = await api(base, 'DELETE', '/api/status');
    expect([wrong.status, wrong.body.error.code]).toEqual([405, 'METHOD_NOT_ALLOWED']);
    expect(wrong.headers.get('allow')).toBe('GET');
    const big = await api(base, 'POST', '/api/wallops', { body: { text: 'x'.repeat(2000) } });
    expect([big.status, big.body.error.code]).toEqual([413, 'BODY_TOO_LARGE']);
    const notJson = await api(base, 'POST', '/api/wallops', { body: '{"text":', headers: { 'content-type': 'application/json' } });
    expect([notJson.status, notJson.body.error.code]).toEqual([400, 'INVALID_REQUEST']);
    const form = await api(base, 'POST', '/api/wallops', { body: 'text=hi', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect([form.status, form.body.error.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    const extra = await api(base, 'POST', '/api/wallops', { body: { text: 'hi', evil: 1 } });
    expect([extra.status, extra.body.error.code]).toEqual([400, 'INVALID_REQUEST']);
    expect(extra.body.error.details[0].message).toMatch(/unrecognized key/i);
    const newline = await api(base, 'POST', '/api/wallops', { body: { text: 'hi\r\nQUIT' } });
    expect(newline.body.error).toMatchObject({ code: 'INVALID_REQUEST', details: [{ path: 'text', message: 'no NUL, CR or LF' }] });
    const query = await api(base, 'GET', '/api/users?limit=0');
    expect(query.body.error).toMatchObject({ code: 'INVALID_REQUEST', details: [{ path: 'limit' }] });
    const unknownQuery = await api(base, 'GET', '/api/status?x=1');
    expect(unknownQuery.status).toBe(400);
  });

  it('refuses each privileged endpoint to a token without its privilege (403), and the ban token only its own', async () => {
    const { base } = await start();
    const privileged: Array<[string, string, unknown?]> = [
      ['POST', '/api/users/x/kill', {}],
      ['PUT', '/api/channels/%23x/topic', { topic: 't' }],
      ['POST', '/api/channels/%23x/modes', { modes: '+n' }],
      ['POST', '/api/channels/%23x/kick', { nick: 'x' }],
      ['GET', '/api/bans'],
      ['POST', '/api/bans', { kind: 'K', mask: '*@example.net' }],
      ['DELETE', '/api/bans/K/x%40y'],
      ['GET', '/api/accounts'],
      ['POST', '/api/accounts', { name: 'acc', password: 'secretpassword' }],
      ['PUT', '/api/accounts/acc/password', { password: 'secretpassword' }],
      ['DELETE', '/api/accounts/acc'],
      ['POST', '/api/rehash'],
      ['POST', '/api/notice', { text: 'hi' }],
      ['POST', '/api/wallops', { text: 'hi' }],
    ];
    for (const [method, path, body] of privileged) {
      const res = await api(base, method, path, { token: READER.token, body });
      expect([path, res.status, res.body.error.code]).toEqual([path, 403, 'FORBIDDEN']);
    }
    expect((await api(base, 'GET', '/api/bans', { token: BANNER.token })).status).toBe(200);
    expect((await api(base, 'POST', '/api/rehash', { token: BANNER.token })).status).toBe(403);
    for (const path of ['/api/status', '/api/activity', '/api/whoami', '/api/users', '/api/channels'])
      expect([path, (await api(base, 'GET', path, { token: READER.token })).status]).toEqual([path, 200]);
  });

  it('logs every call with the token name, as an audit record when it changes something, and never a password', async () => {
    const logFile = join(mkdtempSync(join(tmpdir(), 'ircd-log-')), 'ircd.log');
    const srv = await start({ log: { level: 'info', destination: logFile } });
    await api(srv.base, 'GET', '/api/status', { token: READER.token });
    await api(srv.base, 'POST', '/api/wallops', { body: { text: 'hello' } });
    await api(srv.base, 'POST', '/api/accounts', { body: { name: 'logged', password: 'do-not-log-me' } });
    await srv.stop();
    ts = undefined;
    const deadline = Date.now() + 5000;
    let text = '';
    while (!text.includes('"server stopped"') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    }
    const calls = text.split('\n').filter((l) => l.includes('"API call"')).map((l) => JSON.parse(l));
    expect(calls).toEqual([
      expect.objectContaining({ api_token: 'reader', route: '/api/status', status: 200 }),
      expect.objectContaining({ api_token: 'admin', route: '/api/wallops', status: 200, audit: true }),
      expect.objectContaining({ api_token: 'admin', route: '/api/accounts', status: 201, audit: true }),
    ]);
    expect(calls[0].audit).toBeUndefined();
    expect(text).not.toContain('do-not-log-me');
    expect(text).not.toContain(ADMIN.token);
  });
});

describe('read endpoints', () => {
  it('status, activity and whoami', async () => {
    const { base, port } = await start();
    const a = await client(port, 'alice');
    a.send('JOIN #room');
    a.send('PRIVMSG #room :hello');
    await a.ask('PING x');
    const status = await api(base, 'GET', '/api/status');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ name: 'irc.test', network: 'TestNet', users: 1, connections: 1, channels: 1, opers: 0, server_bans: 0, messages_total: 1 });
    const activity = await api(base, 'GET', '/api/activity');
    expect(activity.body.interval_seconds).toBe(60);
    const now = activity.body.samples.at(-1);
    expect(now).toMatchObject({ users: 1, messages: 1 });
    expect(activity.body.samples[0]).toMatchObject({ users: 0, messages: 0 });
    expect((await api(base, 'GET', '/api/whoami', { token: BANNER.token })).body).toEqual({ name: 'banner', privileges: ['ban'] });
  });

  it('lists and searches users; real host and address only for see_hidden', async () => {
    const { base, port } = await start({ cloaking: { enabled: true, secret: '0123456789abcdef'.repeat(4) } });
    const a = await client(port, 'alice', { realname: 'Alice Liddell' });
    await client(port, 'bob');
    a.send('JOIN #wonder');
    await a.waitFor('366');
    const all = await api(base, 'GET', '/api/users');
    expect(all.body.total).toBe(2);
    expect(all.body.users.map((u: { nick: string }) => u.nick)).toEqual(['alice', 'bob']);
    const found = await api(base, 'GET', '/api/users?q=liddell');
    expect(found.body.total).toBe(1);
    const alice = found.body.users[0];
    expect(alice).toMatchObject({ nick: 'alice', realname: 'Alice Liddell', account: null, channels: ['#wonder'], sessions: 1, ip: '127.0.0.1', real_host: '127.0.0.1' });
    expect(alice.host).not.toBe('127.0.0.1');
    const asReader = await api(base, 'GET', '/api/users/ALICE', { token: READER.token });
    expect(asReader.body.nick).toBe('alice');
    expect(asReader.body).not.toHaveProperty('ip');
    expect(asReader.body).not.toHaveProperty('real_host');
    expect((await api(base, 'GET', '/api/users?q=127.0.0', { token: READER.token })).body.total).toBe(0);
    expect((await api(base, 'GET', '/api/users?limit=1')).body).toMatchObject({ total: 2, users: [{ nick: 'alice' }] });
    const none = await api(base, 'GET', '/api/users/nobody');
    expect([none.status, none.body.error.code]).toEqual([404, 'NO_SUCH_NICK']);
  });

  it('lists channels and shows one with modes, topic, members and lists', async () => {
    const { base, port } = await start();
    const a = await client(port, 'alice');
    a.send('JOIN #room,#other');
    a.send('TOPIC #room :the topic');
    a.send('MODE #room +kb secret *!*@bad.example');
    await a.ask('PING x');
    const list = await api(base, 'GET', '/api/channels?q=topic');
    expect(list.body).toEqual({ channels: [{ name: '#room', users: 1, modes: '+ntk', topic: 'the topic' }], total: 1 });
    const one = await api(base, 'GET', '/api/channels/%23ROOM');
    expect(one.body).toMatchObject({
      name: '#room',
      modes: '+ntk',
      mode_args: ['secret'],
      topic: { text: 'the topic', set_by: expect.stringMatching(/^alice!/) },
      members: [{ nick: 'alice', prefixes: 'o', account: null }],
      lists: { b: [{ mask: '*!*@bad.example' }], e: [], I: [] },
    });
    expect((await api(base, 'GET', '/api/channels/%23room', { token: READER.token })).body.mode_args).toEqual(['*']);
    const none = await api(base, 'GET', '/api/channels/%23nothing');
    expect([none.status, none.body.error.code]).toEqual([404, 'NO_SUCH_CHANNEL']);
  });
});

describe('actions', () => {
  it('kills a user: KILL and QUIT on IRC, a notice to opers, gone from the list', async () => {
    const { base, port } = await start();
    const op = await client(port, 'op');
    await operUp(op);
    const victim = await client(port, 'victim');
    const peer = await client(port, 'peer');
    victim.send('JOIN #c');
    await victim.waitFor('366');
    peer.send('JOIN #c');
    await peer.waitFor('366');
    const res = await api(base, 'POST', '/api/users/victim/kill', { body: { reason: 'spamming' } });
    expect(res).toMatchObject({ status: 200, body: { ok: true } });
    const kill = await victim.waitFor('KILL');
    expect(kill.params).toEqual(['victim', 'spamming']);
    await victim.waitClosed();
    const quit = await peer.waitFor('QUIT');
    expect(quit.params[0]).toBe('Killed (API token admin (spamming))');
    await op.waitFor((m) => m.command === 'NOTICE' && /KILL message for victim .* from API token admin: spamming/.test(m.params[1]!));
    expect((await api(base, 'GET', '/api/users/victim')).status).toBe(404);
    expect((await api(base, 'POST', '/api/users/victim/kill', { body: {} })).body.error.code).toBe('NO_SUCH_NICK');
    const service = await api(base, 'POST', '/api/users/NickServ/kill', { body: {} });
    expect([service.status, service.body.error.code]).toEqual([409, 'IS_SERVICE']);
  });

  it('sets the topic, modes and kicks, and members see each from the server', async () => {
    const { base, port } = await start();
    const a = await client(port, 'alice');
    const b = await client(port, 'bob');
    a.send('JOIN #room');
    await a.waitFor('366');
    b.send('JOIN #room');
    await b.waitFor('366');
    let mark = b.mark;
    expect((await api(base, 'PUT', '/api/channels/%23room/topic', { body: { topic: 'set by the API' } })).body).toEqual({ topic: 'set by the API' });
    const topic = await b.waitFor('TOPIC', { from: mark });
    expect([topic.source, ...topic.params]).toEqual(['irc.test', '#room', 'set by the API']);

    mark = b.mark;
    const modes = await api(base, 'POST', '/api/channels/%23room/modes', { body: { modes: '+mvZ', args: ['bob'] } });
    expect(modes.body).toEqual({ applied: ['+mv', 'bob'], errors: [], unknown: ['Z'] });
    const mode = await b.waitFor('MODE', { from: mark });
    expect([mode.source, ...mode.params]).toEqual(['irc.test', '#room', '+mv', 'bob']);
    const refused = await api(base, 'POST', '/api/channels/%23room/modes', { body: { modes: '+o', args: ['nobody'] } });
    expect(refused.body.errors).toEqual([{ numeric: '401', params: ['nobody', 'No such nick/channel'] }]);
    expect((await api(base, 'POST', '/api/channels/%23room/modes', { body: { modes: 'nt' } })).body.error.code).toBe('INVALID_REQUEST');

    mark = a.mark;
    expect((await api(base, 'POST', '/api/channels/%23room/kick', { body: { nick: 'bob', reason: 'out' } })).body).toEqual({ ok: true });
    const kick = await a.waitFor('KICK', { from: mark });
    expect([kick.source, ...kick.params]).toEqual(['irc.test', '#room', 'bob', 'out']);
    const again = await api(base, 'POST', '/api/channels/%23room/kick', { body: { nick: 'bob' } });
    expect([again.status, again.body.error.code]).toEqual([409, 'NOT_ON_CHANNEL']);
  });

  it('adds, lists and removes server bans with the KLINE/DLINE/XLINE checks, disconnecting who a new ban covers', async () => {
    const { base, port, server } = await start();
    const victim = await client(port, 'victim', { user: 'baduser' });
    const added = await api(base, 'POST', '/api/bans', { body: { kind: 'K', mask: 'baduser@127.0.0.*', duration: '1h', reason: 'spam' } });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ kind: 'K', mask: 'baduser@127.0.0.*', reason: 'spam', set_by: 'api:admin' });
    expect(Date.parse(added.body.expires_at) - Date.parse(added.body.set_at)).toBe(3600_000);
    expect((await victim.waitFor('ERROR')).params[0]).toContain('Banned: spam');
    await api(base, 'POST', '/api/bans', { body: { kind: 'D', mask: '198.51.100.0/24' } });
    await api(base, 'POST', '/api/bans', { body: { kind: 'X', mask: 'spam\\sbot*', reason: 'bots' } });
    const all = await api(base, 'GET', '/api/bans');
    expect(all.body.bans.map((b: { kind: string; mask: string }) => `${b.kind} ${b.mask}`)).toEqual(['K baduser@127.0.0.*', 'D 198.51.100.0/24', 'X spam bot*']);
    expect((await api(base, 'GET', '/api/bans?kind=D')).body.bans).toHaveLength(1);
    // The same refusals as the IRC commands: too broad, everyone, not an address.
    const broad = await api(base, 'POST', '/api/bans', { body: { kind: 'D', mask: '10.0.0.0/8' } });
    expect(broad.body.error).toMatchObject({ code: 'INVALID_BAN', message: expect.stringContaining('too broad') });
    expect((await api(base, 'POST', '/api/bans', { body: { kind: 'K', mask: '*@*' } })).body.error.message).toContain('would ban every host');
    expect((await api(base, 'POST', '/api/bans', { body: { kind: 'D', mask: 'example.net' } })).body.error.code).toBe('INVALID_BAN');
    expect((await api(base, 'POST', '/api/bans', { body: { kind: 'K', mask: 'a@b', duration: 'soon' } })).body.error.code).toBe('INVALID_REQUEST');
    expect((await api(base, 'POST', '/api/bans', { body: { kind: 'Q', mask: 'a@b' } })).body.error.code).toBe('INVALID_REQUEST');

    expect((await api(base, 'DELETE', '/api/bans/D/198.51.100.0%2F24')).body).toEqual({ ok: true });
    expect((await api(base, 'DELETE', '/api/bans/K/baduser%40127.0.0.*')).body).toEqual({ ok: true });
    const gone = await api(base, 'DELETE', '/api/bans/K/baduser%40127.0.0.*');
    expect([gone.status, gone.body.error.code]).toEqual([404, 'NO_SUCH_BAN']);
    expect(bansOf(server).size).toBe(1);
  });

  it('refuses a ban past bans.max_entries', async () => {
    const { base } = await start({ bans: { max_entries: 1 } });
    expect((await api(base, 'POST', '/api/bans', { body: { kind: 'K', mask: '*@a.example' } })).status).toBe(201);
    const full = await api(base, 'POST', '/api/bans', { body: { kind: 'K', mask: '*@b.example' } });
    expect([full.status, full.body.error.code]).toEqual([409, 'LIMIT_REACHED']);
  });

  it('creates, lists, resets and drops accounts', async () => {
    const { base, port, server } = await start({ accounts: { password_min_length: 8 } });
    expect((await api(base, 'POST', '/api/accounts', { body: { name: 'carol', password: 'longenough', email: 'c@example.net' } })).status).toBe(201);
    const dup = await api(base, 'POST', '/api/accounts', { body: { name: 'carol', password: 'longenough' } });
    expect([dup.status, dup.body.error.code]).toEqual([409, 'ACCOUNT_EXISTS']);
    expect((await api(base, 'POST', '/api/accounts', { body: { name: 'dave', password: 'short' } })).body.error.code).toBe('WEAK_PASSWORD');
    expect((await api(base, 'POST', '/api/accounts', { body: { name: 'bad name', password: 'longenough' } })).body.error.code).toBe('BAD_ACCOUNT_NAME');
    const list = await api(base, 'GET', '/api/accounts?mask=c*');
    expect(list.body).toMatchObject({ accounts: [{ name: 'carol', email: 'c@example.net' }], more: false });
    expect((await api(base, 'PUT', '/api/accounts/carol/password', { body: { password: 'anotherone' } })).body).toEqual({ ok: true });
    expect((await api(base, 'PUT', '/api/accounts/nobody/password', { body: { password: 'anotherone' } })).body.error.code).toBe('NO_SUCH_ACCOUNT');
    // The new password logs in over IRC.
    const c = await TestClient.connect(port);
    c.send('CAP REQ :sasl');
    c.send('AUTHENTICATE PLAIN');
    await c.waitFor('AUTHENTICATE');
    c.send(`AUTHENTICATE ${Buffer.from('carol\0carol\0anotherone').toString('base64')}`);
    await c.waitFor('903');
    c.close();
    expect((await api(base, 'DELETE', '/api/accounts/carol')).body).toEqual({ ok: true });
    expect(accountStore(server).get('carol')).toBeUndefined();
    expect((await api(base, 'DELETE', '/api/accounts/carol')).body.error.code).toBe('NO_SUCH_ACCOUNT');
  });

  it('rehashes with the /REHASH report: applied, needs a restart, or refused with the key', async () => {
    const srv = await start();
    const { base, configPath } = srv;
    const ok = await api(base, 'POST', '/api/rehash');
    expect(ok.body).toEqual({ ok: true, needs_restart: [], message: 'Reloaded' });
    const raw = testConfig(operConfig({ api: apiSection({ port: 1 }) }));
    writeFileSync(configPath, toToml(raw));
    const later = await api(base, 'POST', '/api/rehash');
    expect(later.body).toEqual({ ok: true, needs_restart: ['api.port'], message: 'Reloaded; changed but needs a restart: api.port' });
    writeFileSync(configPath, toToml({ ...raw, limits: { nicklen: 1 } }));
    const bad = await api(base, 'POST', '/api/rehash');
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('CONFIG_INVALID');
    expect(bad.body.error.details.join('\n')).toContain('limits.nicklen');
  });

  it('sends a server notice to everyone and a WALLOPS to +w users', async () => {
    const { base, port } = await start();
    const a = await client(port, 'alice');
    const w = await client(port, 'watcher');
    w.send('MODE watcher +w');
    await w.waitFor('MODE');
    expect((await api(base, 'POST', '/api/notice', { body: { text: 'maintenance at noon' } })).body).toEqual({ recipients: 2 });
    const n = await a.waitFor('NOTICE');
    expect([n.source, ...n.params]).toEqual(['irc.test', 'alice', 'maintenance at noon']);
    expect((await api(base, 'POST', '/api/wallops', { body: { text: 'opers: read this' } })).body).toEqual({ ok: true });
    const wallops = await w.waitFor('WALLOPS');
    expect([wallops.source, ...wallops.params]).toEqual(['irc.test', 'opers: read this']);
  });

  it('stops accepting a token removed from the config at REHASH', async () => {
    const srv = await start();
    expect((await api(srv.base, 'GET', '/api/status', { token: READER.token })).status).toBe(200);
    const section = apiSection();
    (section.tokens as Array<{ name: string }>).splice(1, 1);
    writeFileSync(srv.configPath, toToml(testConfig(operConfig({ api: section }))));
    expect((await api(srv.base, 'POST', '/api/rehash')).status).toBe(200);
    expect((await api(srv.base, 'GET', '/api/status', { token: READER.token })).status).toBe(401);
    expect((await api(srv.base, 'GET', '/api/status', { token: ADMIN.token })).status).toBe(200);
  });
});

describe('OpenAPI and the panel', () => {
  it('describes every route from the schemas that validate it', async () => {
    const { base } = await start();
    const res = await fetch(`${base}/api/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, any>> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/api/bans/{kind}/{mask}');
    const addBan = doc.paths['/api/bans']!.post;
    expect(addBan.requestBody.content['application/json'].schema).toMatchObject({
      type: 'object',
      required: ['kind', 'mask'],
      additionalProperties: false,
      properties: { kind: { enum: ['K', 'D', 'X'] } },
    });
    expect(addBan.responses['201']).toBeDefined();
    expect(addBan.responses['403'].description).toContain('FORBIDDEN');
    expect(doc.paths['/api/users']!.get.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'limit', in: 'query', required: false })]));
  });

  it('serves the panel with a strict CSP, nosniff and no framing, and nothing else outside /api', async () => {
    const { base } = await start();
    for (const path of ['/', '/panel.js', '/panel.css']) {
      const res = await fetch(base + path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('set-cookie')).toBeNull();
    }
    const html = await (await fetch(base + '/')).text();
    expect(html).not.toMatch(/<script>|\son[a-z]+=/i);
    const js = await (await fetch(base + '/panel.js')).text();
    expect(js).not.toMatch(/\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML\(|document\.write\(/);
    const other = await fetch(base + '/etc/passwd');
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });

  it('stays off unless enabled; with panel = false it serves the API alone', async () => {
    ts = await startApiServer(operConfig(), { enabled: false });
    expect(apiPort(ts.server)).toBeUndefined();
    await ts.stop();
    ts = await startApiServer(operConfig(), { panel: false });
    expect((await fetch(ts.base + '/')).status).toBe(404);
    expect((await api(ts.base, 'GET', '/api/status')).status).toBe(200);
  });
});

describe('TLS and the command line', () => {
  it('serves HTTPS when [api] tls is set', async () => {
    const cert = makeSelfSignedCert('api.test');
    const srv = await start({}, { tls: cert });
    expect(srv.base.startsWith('http://')).toBe(true);
    const port = new URL(srv.base).port;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, path: '/api/whoami', rejectUnauthorized: false, headers: { authorization: `Bearer ${ADMIN.token}` } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).name).toBe('admin');
    // Plain HTTP on the TLS port gets no answer.
    await expect(fetch(`${srv.base}/api/whoami`)).rejects.toThrow();
  });

  it('ircd mkpasswd --token prints a token once and a block the config accepts, whose hash verifies it', async () => {
    const res = runIrcd(['mkpasswd', '--token', 'ops-bot']);
    expect(res.status).toBe(0);
    const token = /^#\s+(ircd_[A-Za-z0-9_-]{43})$/m.exec(res.stdout)?.[1];
    expect(token).toBeDefined();
    const block = res.stdout.slice(res.stdout.indexOf('[[api.tokens]]'));
    const dir = mkdtempSync(join(tmpdir(), 'ircd-token-'));
    const file = join(dir, 'ircd.toml');
    writeFileSync(file, toToml(testConfig()) + '[api]\nenabled = true\n' + block);
    const config = loadConfig(file);
    expect(config.api.tokens[0]).toMatchObject({ name: 'ops-bot', privileges: expect.arrayContaining(['kill', 'ban']) });
    expect(await verifyPassword(token!, config.api.tokens[0]!.hash)).toBe(true);
    expect(res.stdout).not.toContain(`hash = "${token}"`);
  });
});
