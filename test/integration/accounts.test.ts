// Accounts: REGISTER/VERIFY (draft/account-registration), the oper ACCOUNT command, persistence
// across restarts, nick reservation, and how the account shows (account-tag, account-notify,
// extended-join, $a extbans).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../src/config/load.js';
import { runIrcd } from '../support/daemon.js';
import { capLs, startServer, testConfig, TestClient, toToml, type TestServer } from '../support/harness.js';
import { useSession } from '../support/session.js';
import { makeOper } from '../support/state.js';

const session = useSession();

const failOf = (c: TestClient) => c.waitFor('FAIL').then((m) => m.params);

async function login(c: TestClient, account: string, password: string): Promise<void> {
  c.send('AUTHENTICATE PLAIN');
  await c.waitFor((m) => m.command === 'AUTHENTICATE');
  c.send(`AUTHENTICATE ${Buffer.from(`\0${account}\0${password}`).toString('base64')}`);
  await c.waitFor('903');
}

describe('REGISTER', () => {
  it('registers the current nick after connecting, logs in, and the account works for SASL', async () => {
    await session.start();
    const c = await session.connect('tester', { caps: ['draft/account-registration'] });
    c.send('REGISTER * * hunter2hunter2');
    expect((await c.waitFor('REGISTER')).params).toEqual(['SUCCESS', 'tester', 'Account successfully registered']);
    expect((await c.waitFor('900')).params[2]).toBe('tester');
    c.send('REGISTER * * hunter2hunter2');
    expect(await failOf(c)).toEqual(['REGISTER', 'ALREADY_AUTHENTICATED', 'tester', 'You are already logged in']);

    const again = await session.connect('other', { caps: ['sasl'] });
    await login(again, 'TESTER', 'hunter2hunter2');
  });

  it('advertises its options in the cap value and registers before connecting', async () => {
    const srv = await session.start();
    const c = await TestClient.connect(srv.port);
    c.send('CAP LS 302');
    expect(await capLs(c)).toContain('draft/account-registration=before-connect');
    c.send('REGISTER * * hunter2hunter2');
    expect((await failOf(c)).slice(0, 3)).toEqual(['REGISTER', 'NEED_NICK', '*']);
    c.send('NICK early');
    c.send('REGISTER * early@example.org hunter2hunter2');
    expect((await c.waitFor('REGISTER')).params[1]).toBe('early');
    c.send('USER early 0 * :Early');
    c.send('CAP END');
    await c.waitFor('001');
    expect(srv.server.state.findNick('early')!.account).toBe('early');
    c.close();
  });

  it('will not register a nick someone else holds, even one it was refused before connecting', async () => {
    await session.start();
    await session.connect('root');
    const c = await TestClient.connect(session.srv.port);
    c.send('NICK root');
    await c.waitFor('433');
    c.send('REGISTER * * hunter2hunter2');
    expect((await failOf(c)).slice(0, 3)).toEqual(['REGISTER', 'ACCOUNT_EXISTS', 'root']);
    c.close();
  });

  it('answers COMPLETE_CONNECTION_REQUIRED before connecting when before-connect is off', async () => {
    const srv = await session.start({ accounts: { register_before_connect: false } });
    const c = await TestClient.connect(srv.port);
    c.send('CAP LS 302');
    expect(await capLs(c)).toContain('draft/account-registration');
    c.send('NICK early');
    c.send('REGISTER * * hunter2hunter2');
    expect((await failOf(c)).slice(0, 3)).toEqual(['REGISTER', 'COMPLETE_CONNECTION_REQUIRED', '*']);
    c.send('VERIFY early 1234');
    expect((await failOf(c)).slice(0, 2)).toEqual(['VERIFY', 'COMPLETE_CONNECTION_REQUIRED']);
    c.close();
  });

  it('checks the name, the password and the email, with the codes the spec names', async () => {
    await session.start({ accounts: { password_min_length: 8, password_max_length: 20 } });
    await session.connect('holder');
    const c = await session.connect('bar');
    c.send('REGISTER foo * hunter2hunter2');
    expect((await failOf(c)).slice(0, 3)).toEqual(['REGISTER', 'ACCOUNT_NAME_MUST_BE_NICK', 'foo']);
    c.send('REGISTER * * short');
    expect((await failOf(c)).slice(0, 3)).toEqual(['REGISTER', 'WEAK_PASSWORD', 'bar']);
    c.send(`REGISTER * * ${'x'.repeat(21)}`);
    expect((await failOf(c)).slice(0, 3)).toEqual(['REGISTER', 'UNACCEPTABLE_PASSWORD', 'bar']);
    c.send('REGISTER * not-an-email hunter2hunter2');
    expect((await failOf(c)).slice(0, 3)).toEqual(['REGISTER', 'INVALID_EMAIL', 'bar']);
    c.send('REGISTER');
    await c.waitFor('461');
    c.send('REGISTER * * hunter2hunter2');
    await c.waitFor('REGISTER');

    const d = await session.connect('BAR_');
    d.send('NICK Bar');
    await d.waitFor('433'); // the owner is online
    d.send('QUIT');
    c.send('QUIT');
    await c.waitClosed();
    const e = await session.connect('Bar');
    e.send('REGISTER * * hunter2hunter2');
    expect((await failOf(e)).slice(0, 3)).toEqual(['REGISTER', 'ACCOUNT_EXISTS', 'Bar']);
  });

  it('allows other names with custom_account_name but never a nick someone else is using', async () => {
    await session.start({ accounts: { custom_account_name: true } });
    await session.connect('holder');
    const c = await session.connect('bar');
    c.send('REGISTER holder * hunter2hunter2');
    expect((await failOf(c)).slice(0, 3)).toEqual(['REGISTER', 'ACCOUNT_EXISTS', 'holder']);
    c.send('REGISTER bad,name * hunter2hunter2');
    expect((await failOf(c)).slice(0, 3)).toEqual(['REGISTER', 'BAD_ACCOUNT_NAME', 'bad,name']);
    c.send('REGISTER elsewhere * hunter2hunter2');
    expect((await c.waitFor('REGISTER')).params.slice(0, 2)).toEqual(['SUCCESS', 'elsewhere']);
  });

  it('limits registrations per IP', async () => {
    await session.start({ accounts: { register_per_ip: 1 } });
    const a = await session.connect('first');
    a.send('REGISTER * * hunter2hunter2');
    await a.waitFor('REGISTER');
    const b = await session.connect('second');
    b.send('REGISTER * * hunter2hunter2');
    expect((await failOf(b)).slice(0, 3)).toEqual(['REGISTER', 'TEMPORARILY_UNAVAILABLE', 'second']);
  });

  it('holds the per-IP limit for REGISTERs sent in parallel while their passwords hash', async () => {
    await session.start({ accounts: { register_per_ip: 3, pbkdf2_iterations: 200000 } });
    const clients = await Promise.all(Array.from({ length: 10 }, (_, i) => session.connect(`par${i}`)));
    for (const c of clients) c.send('REGISTER * * hunter2hunter2');
    const answers = await Promise.all(clients.map((c) => c.waitFor((m) => m.command === 'REGISTER' || m.command === 'FAIL', { timeout: 10000 })));
    const outcomes = answers.map((m) => (m.command === 'REGISTER' ? m.params[0] : m.params[1]));
    expect(outcomes.filter((o) => o === 'SUCCESS')).toHaveLength(3);
    expect(outcomes.filter((o) => o === 'TEMPORARILY_UNAVAILABLE')).toHaveLength(7);
  });

  it('gives the slot back when a registration fails after hashing', async () => {
    await session.start({ accounts: { register_per_ip: 2, custom_account_name: true, pbkdf2_iterations: 200000 } });
    const [a, b] = await Promise.all([session.connect('racer1'), session.connect('racer2')]);
    // Both pass the name check before either has created the account; the second create fails.
    a.send('REGISTER samename * hunter2hunter2');
    b.send('REGISTER samename * hunter2hunter2');
    const answers = await Promise.all([a, b].map((c) => c.waitFor((m) => m.command === 'REGISTER' || m.command === 'FAIL')));
    expect(answers.map((m) => m.params.slice(0, 2).join(' ')).sort()).toEqual(['REGISTER ACCOUNT_EXISTS', 'SUCCESS samename']);
    const c = await session.connect('third');
    c.send('REGISTER * * hunter2hunter2');
    expect((await c.waitFor('REGISTER')).params.slice(0, 2)).toEqual(['SUCCESS', 'third']);
    const d = await session.connect('fourth');
    d.send('REGISTER * * hunter2hunter2');
    expect((await failOf(d)).slice(0, 3)).toEqual(['REGISTER', 'TEMPORARILY_UNAVAILABLE', 'fourth']);
  });

  it('has nothing to VERIFY: registrations never wait for a code', async () => {
    await session.start();
    const c = await session.connect('tester');
    c.send('VERIFY tester 39gvcdg4myvnmdcfhvd6exsv4n');
    expect((await failOf(c)).slice(0, 3)).toEqual(['VERIFY', 'INVALID_CODE', 'tester']);
  });

  it('refuses email_required in the config: there is no mail transport to honour it', () => {
    const raw = testConfig({ accounts: { email_required: true } });
    expect(() => validateConfig(raw, 'ircd.toml')).toThrow(ConfigError);
    expect(() => validateConfig(raw, 'ircd.toml')).toThrow(/accounts\.email_required: must be false: this server has no mail transport/);
  });
});

describe('ACCOUNT (operators)', () => {
  it('creates, lists, resets and drops accounts; DROP logs the user out', async () => {
    const srv = await session.start();
    const oper = await session.connect('oper');
    const peon = await session.connect('peon', { caps: ['sasl', 'account-notify'] });
    peon.send('ACCOUNT LIST');
    await peon.waitFor('481');
    makeOper(srv.server, 'oper', ['accounts']);

    oper.send('ACCOUNT CREATE alice sesame123 alice@example.org');
    await oper.waitFor((m) => m.command === 'NOTICE' && m.params[1] === 'Account alice created');
    oper.send('ACCOUNT CREATE ALICE sesame123');
    expect((await failOf(oper)).slice(0, 3)).toEqual(['ACCOUNT', 'ACCOUNT_EXISTS', 'ALICE']);
    oper.send('ACCOUNT CREATE bob short');
    expect((await failOf(oper)).slice(0, 2)).toEqual(['ACCOUNT', 'WEAK_PASSWORD']);
    oper.send('ACCOUNT CREATE bob sesame456');
    await oper.waitFor((m) => m.command === 'NOTICE' && m.params[1] === 'Account bob created');
    oper.send('ACCOUNT LIST a*');
    expect((await oper.waitFor('NOTICE')).params[1]).toMatch(/^alice registered \S+ email alice@example.org$/);
    expect((await oper.waitFor('NOTICE')).params[1]).toBe('End of account list (1 shown)');

    oper.send('ACCOUNT RESETPASS alice newpass123');
    await oper.waitFor((m) => m.command === 'NOTICE' && m.params[1] === 'Password of alice reset');
    await login(peon, 'alice', 'newpass123');

    oper.send('ACCOUNT DROP alice');
    await oper.waitFor((m) => m.command === 'NOTICE' && m.params[1] === 'Account alice dropped');
    await peon.waitFor('901');
    expect((await peon.waitFor('ACCOUNT')).params).toEqual(['*']);
    expect(srv.server.state.findNick('peon')!.account).toBeUndefined();
    oper.send('ACCOUNT DROP alice');
    expect((await failOf(oper)).slice(0, 2)).toEqual(['ACCOUNT', 'NO_SUCH_ACCOUNT']);
    oper.send('ACCOUNT FROB');
    expect((await failOf(oper)).slice(0, 2)).toEqual(['ACCOUNT', 'UNKNOWN_SUBCOMMAND']);
  });
});

describe('persistence', () => {
  it('keeps accounts across a restart on the same database file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ircd-accounts-'));
    const store = { path: join(dir, 'ircd.db') };
    let first: TestServer | undefined = await startServer({ store });
    try {
      const c = await TestClient.connect(first.port);
      await c.register('keeper');
      c.send('REGISTER * * hunter2hunter2');
      await c.waitFor('REGISTER');
      c.close();
    } finally {
      await first.stop();
      first = undefined;
    }
    const second = await startServer({ store });
    try {
      const c = await TestClient.connect(second.port);
      c.send('CAP REQ :sasl');
      await c.waitFor('CAP');
      await login(c, 'keeper', 'hunter2hunter2');
      c.close();
    } finally {
      await second.stop();
    }
  });
});

describe('ircd account create', () => {
  it('writes an account a server on the same store accepts, and refuses duplicates and weak passwords', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ircd-cli-'));
    const store = { path: join(dir, 'ircd.db') };
    const configPath = join(dir, 'ircd.toml');
    writeFileSync(configPath, toToml(testConfig({ store })));
    const create = (name: string, password: string) => runIrcd(['account', 'create', name, '--config', configPath], { input: password });
    expect(create('cliuser', 'sesame123').status).toBe(0);
    const dup = create('CLIUSER', 'sesame123');
    expect(dup.status).toBe(1);
    expect(dup.stderr).toMatch(/already exists/);
    expect(create('weak', 'x').stderr).toMatch(/at least 8 bytes/);
    const srv = await startServer({ store });
    try {
      const c = await TestClient.connect(srv.port);
      c.send('CAP REQ :sasl');
      await c.waitFor('CAP');
      await login(c, 'cliuser', 'sesame123');
      c.close();
    } finally {
      await srv.stop();
    }
  });
});

describe('nick reservation', () => {
  async function withOwner(reservation: string) {
    const srv = await session.start({ accounts: { nick_reservation: reservation, nick_grace: 1 } });
    const owner = await session.connect('owner');
    owner.send('REGISTER * * hunter2hunter2');
    await owner.waitFor('REGISTER');
    owner.send('NICK owner_away');
    await owner.waitFor('NICK');
    return srv;
  }

  it('renames an unauthenticated user on a reserved nick after the grace period (enforce)', async () => {
    await withOwner('enforce');
    const squatter = await session.connect('owner');
    expect((await squatter.waitFor('NOTICE')).params[1]).toMatch(/belongs to the account owner\. Log in to it within 1 seconds/);
    const rename = await squatter.waitFor('NICK', { timeout: 4000 });
    expect(rename.source).toMatch(/^owner!/);
    expect(rename.params[0]).toMatch(/^Guest\d+$/);
  });

  it('leaves the owner alone once logged in', async () => {
    const srv = await withOwner('enforce');
    const owner = srv.server.state.findNick('owner_away')!;
    expect(owner.account).toBe('owner');
    const c = await session.connect('someone', { caps: ['sasl'] });
    await login(c, 'owner', 'hunter2hunter2');
    c.send('NICK owner');
    await c.waitFor('NICK');
    await new Promise((r) => setTimeout(r, 1500));
    expect(srv.server.state.findNick('owner')!.account).toBe('owner');
    expect((await c.collectUntilPong()).filter((m) => m.command === 'NICK')).toEqual([]);
  });

  it('only warns in warn mode', async () => {
    const srv = await withOwner('warn');
    const squatter = await session.connect('owner');
    expect((await squatter.waitFor('NOTICE')).params[1]).toMatch(/belongs to the account owner\. Please log in/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(srv.server.state.findNick('owner')).toBeDefined();
  });
});

describe('the account as others see it', () => {
  it('account-tag, account-notify and extended-join reach only clients with the cap', async () => {
    await session.start();
    const withCaps = await session.connect('withcaps', { caps: ['account-tag', 'account-notify', 'extended-join'] });
    const plain = await session.connect('plain');
    const user = await session.connect('user', { realname: 'The User' });
    for (const c of [withCaps, plain]) {
      c.send('JOIN #room');
      await c.waitFor('366');
    }
    user.send('REGISTER * * hunter2hunter2');
    await user.waitFor('REGISTER');
    user.send('JOIN #room');
    expect((await withCaps.waitFor((m) => m.command === 'JOIN' && m.source!.startsWith('user!'))).params).toEqual(['#room', 'user', 'The User']);
    expect((await plain.waitFor((m) => m.command === 'JOIN' && m.source!.startsWith('user!'))).params).toEqual(['#room']);

    user.send('PRIVMSG #room :hello');
    expect((await withCaps.waitFor('PRIVMSG')).tags?.account).toBe('user');
    const plainMsg = await plain.waitFor('PRIVMSG');
    expect(plainMsg.tags?.account).toBeUndefined();

    // A login after joining: ACCOUNT goes to account-notify clients only.
    const late = await session.connect('late', { caps: ['sasl'] });
    late.send('JOIN #room');
    await withCaps.waitFor((m) => m.command === 'JOIN' && m.source!.startsWith('late!') && m.params[1] === '*');
    await late.waitFor('366');
    late.send('REGISTER * * hunter2hunter2');
    await late.waitFor('900');
    const notify = await withCaps.waitFor('ACCOUNT');
    expect(notify.source).toMatch(/^late!/);
    expect(notify.params).toEqual(['late']);
    expect((await plain.collectUntilPong()).filter((m) => m.command === 'ACCOUNT')).toEqual([]);
  });

  it('$a:<account> and $a ban entries match logged-in users by account', async () => {
    await session.start();
    const op = await session.connect('op');
    op.send('JOIN #room');
    await op.waitFor('366');
    op.send('MODE #room +b $a:ali*');
    await op.waitFor('MODE');
    const alice = await session.connect('alice');
    alice.send('REGISTER * * hunter2hunter2');
    await alice.waitFor('REGISTER');
    alice.send('JOIN #room');
    expect((await alice.waitFor('474')).params[1]).toBe('#room');
    const anon = await session.connect('anon');
    anon.send('JOIN #room');
    await anon.waitFor('366');
    op.send('MODE #room -b+b $a:ali* $a');
    await op.waitFor('MODE');
    const bob = await session.connect('bob');
    bob.send('REGISTER * * hunter2hunter2');
    await bob.waitFor('REGISTER');
    bob.send('JOIN #room');
    await bob.waitFor('474');
  });
});
