// NickServ (built-in services): the pseudo-user (its nick held, WHOIS, LUSERS, KILL), routing
// (/msg NickServ, NickServ@server, NS and NICKSERV), and each command with its refusals, over
// the same account store as REGISTER and SASL.
import { describe, expect, it, vi } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { accountStore } from '../../src/modules/accounts.js';
import { saslLogin } from '../support/login.js';
import { operConfig, operUp } from '../support/oper.js';
import { TestClient } from '../support/harness.js';
import { useSession } from '../support/session.js';
import { makeOper } from '../support/state.js';

const s = useSession();
const PASSWORD = 'correct-horse';

const commands = (ms: Message[]) => ms.map((m) => m.command);
/** The text of the NOTICEs NickServ sent among `ms`. */
const fromNickServ = (ms: Message[]) => ms.filter((m) => m.command === 'NOTICE' && m.source?.startsWith('NickServ!')).map((m) => m.params[1]!);
/** Sends a line and returns NickServ's answer to it (its notices). */
const ns = async (c: TestClient, line: string) => fromNickServ(await c.ask(line));

async function registered(nick: string) {
  const c = await s.connect(nick);
  expect(await ns(c, `PRIVMSG NickServ :REGISTER ${PASSWORD}`)).toEqual([`Account ${nick} registered; you are now logged in to it.`]);
  return c;
}

describe('the NickServ pseudo-user', () => {
  it('holds its nick, shows as a network service in WHOIS, and is not counted as a user', async () => {
    await s.start();
    const c = await s.connect('alice');
    expect(commands(await c.ask('NICK NickServ'))).toContain('433');
    expect(commands(await c.ask('NICK nickserv'))).toContain('433');
    const whois = await c.ask('WHOIS NickServ');
    expect(whois.find((m) => m.command === '311')!.params.slice(1, 3)).toEqual(['NickServ', 'NickServ']);
    expect(whois.find((m) => m.command === '313')!.params).toEqual(['alice', 'NickServ', 'is a Network Service']);
    const lusers = await c.ask('LUSERS');
    expect(lusers.find((m) => m.command === '251')!.params[1]).toBe('There are 1 users and 0 invisible on 1 servers');
    expect(lusers.find((m) => m.command === '265')!.params.slice(1, 3)).toEqual(['1', '1']);
    expect(commands(lusers)).not.toContain('253'); // no unknown connections either
    expect(s.srv.server.state.registeredCount).toBe(1);
  });

  it('cannot be killed', async () => {
    await s.start(operConfig());
    const c = await s.connect('alice');
    await operUp(c);
    const kill = await c.ask('KILL NickServ :begone');
    expect(kill.find((m) => m.command === '483')).toBeDefined();
    expect(commands(await c.ask('WHOIS NickServ'))).toContain('311');
  });

  it('is absent with [services] enabled = false, and a user may take the nick', async () => {
    await s.start({ services: { enabled: false } });
    const c = await s.connect('alice');
    expect(commands(await c.ask('PRIVMSG NickServ :HELP'))).toContain('401');
    expect(commands(await c.ask('NS HELP'))).toContain('421');
    expect((await c.ask('NICK NickServ')).find((m) => m.command === 'NICK')!.params).toEqual(['NickServ']);
  });

  it('takes its nick from [services] nickserv, and refuses an invalid one at load', async () => {
    await s.start({ services: { nickserv: 'Nicky' } });
    const c = await s.connect('alice');
    const help = await c.ask('PRIVMSG Nicky :HELP');
    expect(help.filter((m) => m.source?.startsWith('Nicky!')).length).toBeGreaterThan(3);
    expect(commands(await c.ask('PRIVMSG NickServ :HELP'))).toContain('401');
    await s.srv.stop();
    await expect(s.start({ services: { nickserv: '#bad' } })).rejects.toThrow(/services\.nickserv/);
  });
});

describe('routing to NickServ', () => {
  it('answers /msg NickServ, NickServ@<server>, NS and NICKSERV alike, and ignores NOTICE and CTCP', async () => {
    await s.start();
    const c = await s.connect('alice');
    const help = await ns(c, 'PRIVMSG NickServ :HELP');
    expect(help[0]).toMatch(/^NickServ commands/);
    expect(help.some((l) => l.includes('IDENTIFY [<account>] <password>'))).toBe(true);
    // Oper commands are listed only to those who may use them.
    expect(help.some((l) => l.includes('SADROP'))).toBe(false);
    expect(await ns(c, `PRIVMSG NickServ@${s.srv.server.name} :HELP`)).toEqual(help);
    expect(await ns(c, 'NS HELP')).toEqual(help);
    expect(await ns(c, 'NICKSERV HELP')).toEqual(help);
    expect(await ns(c, 'PRIVMSG NickServ@other.example :HELP')).toEqual([]);
    expect(await ns(c, 'NOTICE NickServ :HELP')).toEqual([]);
    expect(await ns(c, 'PRIVMSG NickServ :\x01VERSION\x01')).toEqual([]);
    expect(await ns(c, 'NS HELP GHOST')).toEqual([
      'Syntax: GHOST <nick> [<password>]',
      "Disconnects a user logged in to your account, or using its name as nick. Logged in, no password is needed; otherwise give the password of that user's account.",
    ]);
    expect(await ns(c, 'NS help nosuch')).toEqual(['No help for nosuch. Type /msg NickServ HELP for a list of commands.']);
    expect(await ns(c, 'NS FROB')).toEqual(['Unknown command FROB. Type /msg NickServ HELP for a list of commands.']);
    expect(await ns(c, 'NS IDENTIFY')).toEqual(['Not enough parameters for IDENTIFY.', 'Syntax: IDENTIFY [<account>] <password>']);
  });

  it('echoes the PRIVMSG with echo-message to the sender only, and keeps it out of history', async () => {
    await s.start();
    const c = await s.connect('alice', { caps: ['echo-message'] });
    await ns(c, `NS REGISTER ${PASSWORD}`);
    // A second session of alice (multiclient) sees nothing of it: the line may hold a password.
    const other = await s.raw();
    other.send('CAP LS 302');
    other.send('CAP REQ :sasl echo-message');
    await other.waitFor((m) => m.command === 'CAP' && m.params[1] === 'ACK');
    other.send('AUTHENTICATE PLAIN');
    await other.waitFor('AUTHENTICATE');
    other.send(`AUTHENTICATE ${Buffer.from(`\0alice\0${PASSWORD}`).toString('base64')}`);
    await other.waitFor('903');
    other.send('CAP END');
    other.send('NICK alice');
    other.send('USER a 0 * :A');
    await other.waitFor((m) => m.command === '376' || m.command === '422');
    await other.collectUntilPong();
    const emit = vi.spyOn(s.srv.server, 'emit');
    const got = await c.ask('PRIVMSG NickServ :HELP');
    expect(emit.mock.calls.map((call) => (call as unknown[])[0])).not.toContain('messageRelayed');
    expect(got[0]!.command).toBe('PRIVMSG');
    expect(got[0]!.params).toEqual(['NickServ', 'HELP']);
    expect(fromNickServ(got).length).toBeGreaterThan(3);
    expect(commands(await other.collectUntilPong()).filter((c) => c === 'PRIVMSG' || c === 'NOTICE')).toEqual([]);
  });

  it('refuses a multiline batch to NickServ', async () => {
    await s.start();
    const c = await s.connect('alice', { caps: ['draft/multiline', 'batch'] });
    c.send('BATCH +m draft/multiline NickServ');
    c.send('@batch=m PRIVMSG NickServ :IDENTIFY');
    c.send('@batch=m PRIVMSG NickServ :secret');
    c.send('BATCH -m');
    const fail = await c.waitFor('FAIL');
    expect(fail.params.slice(0, 3)).toEqual(['PRIVMSG', 'INVALID_TARGET', 'NickServ']);
  });

  it('charges each command to the sender\'s flood budget, more for those that hash a password', async () => {
    await s.start();
    const c = await s.connect('alice');
    const conn = s.srv.server.state.findNick('alice')!.session.conn;
    const charge = vi.spyOn(conn, 'charge');
    await c.ask('PRIVMSG NickServ :INFO nobody');
    await c.ask('NS IDENTIFY nobody wrong-password');
    await c.ask('NS FROB');
    expect(charge.mock.calls).toEqual([[1], [4], [1]]);
  });
});

describe('NickServ REGISTER', () => {
  it('registers the current nick, logs in, and the account works for SASL', async () => {
    await s.start();
    const c = await s.connect('alice');
    const got = await c.ask(`PRIVMSG NickServ :REGISTER ${PASSWORD} alice@example.org`);
    expect(commands(got)).toContain('900');
    expect(fromNickServ(got)).toEqual(['Account alice registered; you are now logged in to it.']);
    expect(accountStore(s.srv.server).get('alice')!.email).toBe('alice@example.org');
    const again = await s.raw();
    again.send('CAP LS 302');
    again.send('CAP REQ sasl');
    await again.waitFor((m) => m.command === 'CAP' && m.params[1] === 'ACK');
    again.send('AUTHENTICATE PLAIN');
    await again.waitFor('AUTHENTICATE');
    again.send(`AUTHENTICATE ${Buffer.from(`\0alice\0${PASSWORD}`).toString('base64')}`);
    await again.waitFor('903');
  });

  it('refuses a taken name, a weak password, a bad email, a second account, and when registration is off', async () => {
    await s.start();
    const a = await registered('alice');
    expect(await ns(a, `NS REGISTER ${PASSWORD}`)).toEqual(['alice was not registered: You are already logged in.']);
    const b = await s.connect('bob');
    expect(await ns(b, 'NS REGISTER short')).toEqual(['bob was not registered: Passwords must be at least 8 bytes long.']);
    expect(await ns(b, `NS REGISTER ${PASSWORD} not-an-email`)).toEqual(['bob was not registered: That is not an email address.']);
    b.send('QUIT');
    await s.srv.stop();
    await s.start({ accounts: { registration: false } });
    const c = await s.connect('carol');
    expect(await ns(c, `NS REGISTER ${PASSWORD}`)).toEqual(['Account registration is disabled on this server.']);
  });

  it('refuses a nick that is already an account', async () => {
    await s.start();
    const a = await registered('alice');
    a.send('QUIT');
    await a.waitClosed();
    const b = await s.connect('alice');
    expect(await ns(b, `NS REGISTER ${PASSWORD}`)).toEqual(['alice was not registered: That name is not available.']);
  });

  it('counts against the per-address registration limit', async () => {
    await s.start({ accounts: { register_per_ip: 1 } });
    await registered('alice');
    const b = await s.connect('bob');
    expect(await ns(b, `NS REGISTER ${PASSWORD}`)).toEqual([
      'bob was not registered: Too many accounts were registered from your address; try again later.',
    ]);
  });
});

describe('NickServ IDENTIFY', () => {
  it('logs in with the current nick or a named account, as classic clients do right after connecting', async () => {
    await s.start();
    const a = await registered('alice');
    a.send('QUIT');
    await a.waitClosed();
    // Auto-identify: the client's first line after the welcome (nick reservation says how).
    const c = await s.connect('alice', { caps: ['account-notify'] });
    expect((await c.waitFor('NOTICE')).params[1]).toBe(
      'The nick alice belongs to the account alice. Please log in to it or choose another nick. To log in: /msg NickServ IDENTIFY <password>',
    );
    const got = await c.ask(`PRIVMSG NickServ :IDENTIFY ${PASSWORD}`);
    expect(got.find((m) => m.command === '900')!.params.slice(2)).toEqual(['alice', 'You are now logged in as alice']);
    expect(got.find((m) => m.command === 'ACCOUNT')!.params).toEqual(['alice']);
    expect(fromNickServ(got)).toEqual(['You are now identified as alice.']);
    expect(await ns(c, `NS IDENTIFY ${PASSWORD}`)).toEqual(['You are already logged in as alice.']);
    const other = await s.connect('someone');
    const named = await other.ask(`NICKSERV IDENTIFY Alice ${PASSWORD}`);
    expect(named.find((m) => m.command === '900')!.params[2]).toBe('alice');
    expect((await other.ask('WHOIS someone')).find((m) => m.command === '330')!.params[2]).toBe('alice');
  });

  it('refuses a wrong password and an unknown account alike, and is held to the SASL failure limits', async () => {
    await s.start({ sasl: { failures_per_ip: 3 } });
    await registered('alice');
    const c = await s.connect('mallory');
    expect(await ns(c, 'NS IDENTIFY alice wrong-password')).toEqual(['Invalid account or password.']);
    expect(await ns(c, 'NS IDENTIFY nobody wrong-password')).toEqual(['Invalid account or password.']);
    expect(await ns(c, 'NS IDENTIFY alice wrong-again')).toEqual(['Invalid account or password.']);
    // The limit is reached: even the right password is refused now, from this address, by SASL too.
    expect(await ns(c, `NS IDENTIFY alice ${PASSWORD}`)).toEqual(['Too many failed logins; try again later.']);
    const d = await s.raw();
    d.send('CAP LS 302');
    d.send('CAP REQ sasl');
    await d.waitFor((m) => m.command === 'CAP' && m.params[1] === 'ACK');
    d.send('AUTHENTICATE PLAIN');
    expect((await d.waitFor('904')).params[1]).toMatch(/too many failed attempts/);
  });

  it('is refused before registration completes', async () => {
    await s.start();
    const c = await s.raw();
    c.send(`PRIVMSG NickServ :IDENTIFY ${PASSWORD}`);
    expect((await c.waitFor('451')).command).toBe('451');
  });
});

describe('NickServ GHOST', () => {
  it('disconnects a user logged in to your account or using its name, and nobody else', async () => {
    await s.start({ accounts: { multiclient: false } });
    const a = await registered('alice');
    a.send('NICK alice_away');
    await a.waitFor('NICK');
    const squatter = await s.connect('squatter');
    const b = await s.connect('bob');
    expect(await ns(b, 'NS GHOST alice_away')).toEqual(['Log in first, or give the password: GHOST alice_away <password>']);
    expect(await ns(b, 'NS GHOST squatter hunter2hunter2')).toEqual(['squatter is neither logged in to an account nor named after one.']);
    expect(await ns(b, 'NS GHOST alice_away wrong-password')).toEqual(['Invalid account or password.']);
    await ns(b, `NS IDENTIFY alice ${PASSWORD}`);
    expect(await ns(b, 'NS GHOST squatter')).toEqual(['squatter is not yours: it is neither logged in to alice nor named after it.']);
    expect(await ns(b, 'NS GHOST nobody')).toEqual(['No user is using the nick nobody.']);
    expect(await ns(b, 'NS GHOST bob')).toEqual(['You cannot ghost yourself.']);
    expect(await ns(b, 'NS GHOST NickServ')).toEqual(['NickServ is a network service.']);
    expect(await ns(b, 'NS GHOST alice_away')).toEqual(['alice_away has been disconnected.']);
    await a.waitClosed();
    expect(a.lines.some((l) => l.includes('GHOST command used by bob'))).toBe(true);
    // Someone on the account's name, logged in or not, can be ghosted too.
    squatter.send('NICK alice');
    await squatter.waitFor('NICK');
    expect(await ns(b, 'NS GHOST alice')).toEqual(['alice has been disconnected.']);
    await squatter.waitClosed();
    expect((await b.ask('NICK alice')).find((m) => m.command === 'NICK')!.params).toEqual(['alice']);
  });

  it('takes the password of the account instead of a login, as classic clients send it on connect', async () => {
    await s.start({ accounts: { multiclient: false } });
    const a = await registered('alice');
    const b = await s.connect('alice_');
    expect(await ns(b, `NS GHOST alice ${PASSWORD}`)).toEqual(['alice has been disconnected.']);
    await a.waitClosed();
    expect(commands(await b.ask('NICK alice'))).toContain('NICK');
    // GHOST logs nobody in: IDENTIFY does that.
    expect(s.srv.server.state.findNick('alice')!.account).toBeUndefined();
  });
});

describe('NickServ DROP and SET PASSWORD', () => {
  it('drops your account after checking its password, logging you out', async () => {
    await s.start();
    const b = await s.connect('bob');
    expect(await ns(b, `NS DROP ${PASSWORD}`)).toEqual(['You must be logged in to use DROP: /msg NickServ IDENTIFY <password>']);
    const a = await registered('alice');
    expect(await ns(a, 'NS DROP wrong-password')).toEqual(['Invalid account or password.']);
    expect(accountStore(s.srv.server).get('alice')).toBeDefined();
    const got = await a.ask(`NS DROP ${PASSWORD}`);
    expect(commands(got)).toContain('901');
    expect(fromNickServ(got)).toEqual(['Account alice dropped.']);
    expect(accountStore(s.srv.server).get('alice')).toBeUndefined();
  });

  it('changes the password: the new one logs in, the old one no longer does', async () => {
    await s.start();
    const b = await s.connect('bob');
    expect(await ns(b, 'NS SET PASSWORD another-password')).toEqual(['You must be logged in to use SET PASSWORD: /msg NickServ IDENTIFY <password>']);
    const a = await registered('alice');
    expect(await ns(a, 'NS SET EMAIL x@example.org')).toEqual(['Unknown setting EMAIL; the settings are PASSWORD and ALWAYS-ON.']);
    expect(await ns(a, 'NS SET PASSWORD short')).toEqual(['Password not changed: Passwords must be at least 8 bytes long.']);
    expect(await ns(a, 'NS SET PASSWORD another-password')).toEqual(['Password of alice changed.']);
    expect(await ns(b, `NS IDENTIFY alice ${PASSWORD}`)).toEqual(['Invalid account or password.']);
    expect(await ns(b, 'NS IDENTIFY alice another-password')).toEqual(['You are now identified as alice.']);
  });
});

describe('NickServ INFO', () => {
  it('shows registration and who is logged in; email and certificates to the owner and opers only', async () => {
    await s.start();
    const a = await s.connect('alice');
    await ns(a, `NS REGISTER ${PASSWORD} alice@example.org`);
    const mine = await ns(a, 'NS INFO');
    expect(mine[0]).toBe('Information on alice:');
    expect(mine[1]).toMatch(/^Registered: \d{4}-\d\d-\d\dT/);
    expect(mine.slice(2)).toEqual(['Logged in now as: alice', 'Email: alice@example.org', 'Certificate fingerprints: none', 'Always-on: off', 'End of information on alice.']);
    const b = await s.connect('bob');
    const theirs = await ns(b, 'NS INFO ALICE');
    expect(theirs.some((l) => l.startsWith('Email'))).toBe(false);
    expect(theirs).toContain('Logged in now as: alice');
    makeOper(s.srv.server, 'bob', ['accounts']);
    expect(await ns(b, 'NS INFO alice')).toContain('Email: alice@example.org');
    expect(await ns(b, 'NS INFO nobody')).toEqual(['No account is named nobody.']);
  });
});

describe('NickServ SAREGISTER and SADROP', () => {
  it('need the accounts privilege, then create and drop accounts', async () => {
    await s.start();
    const b = await s.connect('bob');
    expect(await ns(b, `NS SAREGISTER carol ${PASSWORD}`)).toEqual(['Permission denied: SAREGISTER needs the operator privilege "accounts".']);
    expect(await ns(b, 'NS SADROP carol')).toEqual(['Permission denied: SADROP needs the operator privilege "accounts".']);
    makeOper(s.srv.server, 'bob', ['accounts']);
    expect((await ns(b, 'NS HELP')).some((l) => l.includes('SADROP <account>'))).toBe(true);
    expect(await ns(b, `NS SAREGISTER carol ${PASSWORD}`)).toEqual(['Account carol registered.']);
    expect(await ns(b, `NS SAREGISTER carol ${PASSWORD}`)).toEqual(['carol was not registered: That account already exists.']);
    expect(await ns(b, 'NS SAREGISTER #bad password-ok')).toEqual(['#bad was not registered: Account names follow the nick rules.']);
    const c = await s.connect('carol');
    expect(commands(await c.ask(`NS IDENTIFY ${PASSWORD}`))).toContain('900');
    expect(await ns(b, 'NS SADROP carol')).toEqual(['Account carol dropped.']);
    await c.waitFor('901');
    expect(await ns(b, 'NS SADROP carol')).toEqual(['No account is named carol.']);
  });
});

describe('NickServ with SASL-registered users', () => {
  it('GHOSTs a session of the same account left behind (multiclient off)', async () => {
    await s.start({ accounts: { multiclient: false } });
    const store = accountStore(s.srv.server);
    const { makeCredentials } = await import('../../src/auth/scram.js');
    store.create('dana', await makeCredentials('sesame', 4096), undefined);
    const old = await s.raw();
    old.nick = 'dana';
    await saslLogin(old, 'dana');
    old.send('CAP END');
    old.send('NICK dana');
    old.send('USER d 0 * :D');
    await old.waitFor('001');
    const now = await s.connect('dana2');
    await ns(now, 'NS IDENTIFY dana sesame');
    expect(await ns(now, 'NS GHOST dana')).toEqual(['dana has been disconnected.']);
    await old.waitClosed();
  });
});
