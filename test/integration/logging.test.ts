// Logs at level trace, written to a file as in production: secrets never reach them, and every
// record about one client carries its connection id.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/password.js';
import { startServer, TestClient, type TestServer } from '../support/harness.js';

const SERVER_PASSWORD = 'srv-Pass-4d1f9c';
const OPER_PASSWORD = 'oper-Pass-77b2e0';
const WRONG_OPER_PASSWORD = 'oper-Wrong-19ab44';
const ACCOUNT_PASSWORD = 'acct-Pass-5c30aa';
const WRONG_ACCOUNT_PASSWORD = 'acct-Wrong-e8d4f1';
const WEBIRC_PASSWORD = 'webirc-Pass-0b7e21';
const SERVICES_PASSWORD = 'ns-Pass-c41d9a';
const CHANNEL_KEY = 'chan-Key-93f0be';

let ts: TestServer | undefined;

afterEach(async () => {
  await ts?.stop();
  ts = undefined;
});

const plain = (user: string, password: string) => Buffer.from(`\0${user}\0${password}`).toString('base64');

async function readLogWhenStopped(file: string): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (text.includes('"server stopped"')) return text;
    if (Date.now() > deadline) throw new Error(`the log never said "server stopped":\n${text.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('logs', () => {
  it('never contain passwords or SASL payloads, even at level trace', async () => {
    const logFile = join(mkdtempSync(join(tmpdir(), 'ircd-log-')), 'ircd.log');
    ts = await startServer({
      log: { level: 'trace', destination: logFile },
      allow: [{ mask: '*', class: 'default', password: hashPassword(SERVER_PASSWORD) }],
      oper_class: [{ name: 'admin', privileges: ['kill'] }],
      oper: [{ name: 'root', password: hashPassword(OPER_PASSWORD), class: 'admin' }],
    });
    const { port, server } = ts;
    const has = (command: string) => server.router.commands.has(command);

    // PASS, REGISTER (an account to log in to), a failed and a good OPER.
    const alice = await TestClient.connect(port);
    alice.send(`PASS ${SERVER_PASSWORD}`);
    await alice.register('alice');
    if (has('REGISTER')) {
      alice.send(`REGISTER * * ${ACCOUNT_PASSWORD}`);
      await alice.waitFor((m) => m.command === 'REGISTER' || m.command === 'FAIL');
    }
    if (has('OPER')) {
      alice.send(`OPER root ${WRONG_OPER_PASSWORD}`);
      await alice.waitFor('464');
      alice.send(`OPER root ${OPER_PASSWORD}`);
      await alice.waitFor('381');
    }
    alice.send('QUIT :bye');
    await alice.waitClosed();

    // SASL PLAIN: one wrong password, then the right one.
    if (has('AUTHENTICATE')) {
      const bob = await TestClient.connect(port);
      bob.send('CAP LS 302');
      bob.send('CAP REQ :sasl');
      await bob.waitFor((m) => m.command === 'CAP' && m.params[1] === 'ACK');
      bob.send(`PASS ${SERVER_PASSWORD}`);
      for (const [password, numeric] of [[WRONG_ACCOUNT_PASSWORD, '904'], [ACCOUNT_PASSWORD, '903']] as const) {
        bob.send('AUTHENTICATE PLAIN');
        await bob.waitFor((m) => m.command === 'AUTHENTICATE' && m.params[0] === '+');
        bob.send(`AUTHENTICATE ${plain('alice', password)}`);
        await bob.waitFor(numeric);
      }
      expect(server.stats.sasl.get('PLAIN')).toEqual({ success: 1, failure: 1 });
      bob.send('CAP END');
      await bob.register('bob');
      bob.close();
    }

    await ts.stop();
    ts = undefined;
    const text = await readLogWhenStopped(logFile);
    const records = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

    // Trace logging saw the commands that carry secrets, so the checks below mean something.
    const received = records.filter((r) => r.msg === 'command received');
    for (const command of ['PASS', 'NICK', ...['OPER', 'REGISTER', 'AUTHENTICATE'].filter(has)])
      expect(received.some((r) => r.command === command), command).toBe(true);

    const secrets = [SERVER_PASSWORD, OPER_PASSWORD, WRONG_OPER_PASSWORD, ACCOUNT_PASSWORD, WRONG_ACCOUNT_PASSWORD];
    for (const s of secrets) expect(text, 'a password is in the log').not.toContain(s);
    for (const s of [plain('alice', ACCOUNT_PASSWORD), plain('alice', WRONG_ACCOUNT_PASSWORD)])
      expect(text, 'a SASL payload is in the log').not.toContain(s);

    // Everything logged about a client says which connection it was.
    for (const r of records) {
      if ('nick' in r || 'command' in r) expect(r.conn, JSON.stringify(r)).toEqual(expect.any(Number));
    }
  });

  it('never contain what is told to a service with a name of its own ([services] nickserv)', async () => {
    const logFile = join(mkdtempSync(join(tmpdir(), 'ircd-log-')), 'ircd.log');
    ts = await startServer({ log: { level: 'trace', destination: logFile }, services: { nickserv: 'Nicky' } });
    const c = await TestClient.connect(ts.port);
    await c.register('someone');
    c.send(`PRIVMSG nicky :IDENTIFY someone ${SERVICES_PASSWORD}`);
    await c.collectUntilPong();
    await ts.stop();
    ts = undefined;
    const text = await readLogWhenStopped(logFile);
    expect(text).not.toContain(SERVICES_PASSWORD);
    const received = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.msg === 'command received' && r.command === 'PRIVMSG');
    expect(received.map((r) => r.params)).toEqual([['nicky', 'IDENTIFY [redacted]']]);
  });

  it('never contain the WEBIRC password, passwords told to services, or channel keys', async () => {
    const logFile = join(mkdtempSync(join(tmpdir(), 'ircd-log-')), 'ircd.log');
    ts = await startServer({
      log: { level: 'trace', destination: logFile },
      webirc: [{ name: 'kiwi', hosts: ['127.0.0.1'], password: hashPassword(WEBIRC_PASSWORD) }],
    });
    const web = await TestClient.connect(ts.port);
    web.send(`WEBIRC ${WEBIRC_PASSWORD} kiwi web.example 192.0.2.7`);
    await web.register('webber');
    web.send(`PRIVMSG NickServ :IDENTIFY webber ${SERVICES_PASSWORD}`);
    web.send(`NS IDENTIFY ${SERVICES_PASSWORD}`);
    web.send(`JOIN #keyed`);
    web.send(`MODE #keyed +k ${CHANNEL_KEY}`);
    await web.collectUntilPong();
    const other = await TestClient.connect(ts.port);
    await other.register('other');
    other.send(`JOIN #keyed ${CHANNEL_KEY}`);
    await other.waitFor('366');

    await ts.stop();
    ts = undefined;
    const text = await readLogWhenStopped(logFile);
    const received = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.msg === 'command received');
    // The lines were logged, with what is not secret still there.
    expect(received.find((r) => r.command === 'WEBIRC')?.params).toEqual(['[redacted]', 'kiwi', 'web.example', '192.0.2.7']);
    expect(received.find((r) => r.command === 'PRIVMSG')?.params).toEqual(['NickServ', 'IDENTIFY [redacted]']);
    expect(received.find((r) => r.command === 'NS')?.params).toEqual(['IDENTIFY [redacted]']);
    expect(received.filter((r) => r.command === 'JOIN').map((r) => r.params)).toContainEqual(['#keyed', '[redacted]']);
    for (const secret of [WEBIRC_PASSWORD, SERVICES_PASSWORD, CHANNEL_KEY]) expect(text, 'a secret is in the log').not.toContain(secret);
  });
});
