// ChanServ (registered channels): the pseudo-user and its aliases, each command with its
// refusals, what a registered channel keeps once it has emptied (topic, modes, lists, access),
// that nobody takes it over by joining first, founders leaving with their account, and the oper
// override with its audit line. The restart itself is in chanserv-restart.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { makeCredentials } from '../../src/auth/scram.js';
import { accountStore } from '../../src/modules/accounts.js';
import { loggedInClient } from '../support/login.js';
import { operConfig, operUp } from '../support/oper.js';
import type { TestClient } from '../support/harness.js';
import { useSession } from '../support/session.js';

const s = useSession();

const commands = (ms: Message[]) => ms.map((m) => m.command);
/** The text of ChanServ's NOTICEs among `ms`. */
const fromChanServ = (ms: Message[]) => ms.filter((m) => m.command === 'NOTICE' && m.source?.startsWith('ChanServ!')).map((m) => m.params[1]!);
/** Sends a line and returns ChanServ's answer (its notices). */
const cs = async (c: TestClient, line: string) => fromChanServ(await c.ask(`PRIVMSG ChanServ :${line}`));
/** The MODE lines among `ms`, as "source params...". */
const modes = (ms: Message[]) => ms.filter((m) => m.command === 'MODE').map((m) => `${m.source!.split('!')[0]} ${m.params.join(' ')}`);
/** NAMES of a channel as seen by `c`. */
const names = async (c: TestClient, channel: string) => (await c.ask(`NAMES ${channel}`)).find((m) => m.command === '353')?.params[3]?.split(' ') ?? [];

/** A user logged in to an account of its own name. */
const user = (nick: string) => loggedInClient(s.srv.server, s.srv.port, nick, nick);

/** alice registers #reg (she created it, so she is its operator). */
async function founderWithChannel(channel = '#reg'): Promise<TestClient> {
  const alice = await user('alice');
  await alice.ask(`JOIN ${channel}`);
  expect(await cs(alice, `REGISTER ${channel}`)).toEqual([`${channel} is now registered to alice.`]);
  return alice;
}

describe('the ChanServ pseudo-user', () => {
  it('is a network service in WHOIS, not a counted user, and answers /msg, CS and CHANSERV', async () => {
    await s.start();
    const c = await s.connect('visitor');
    const whois = await c.ask('WHOIS ChanServ');
    expect(whois.find((m) => m.command === '313')!.params).toEqual(['visitor', 'ChanServ', 'is a Network Service']);
    expect(s.srv.server.state.registeredCount).toBe(1);
    const help = await cs(c, 'HELP');
    expect(help[0]).toMatch(/^ChanServ commands \(.*\/CS or \/CHANSERV/);
    for (const cmd of ['REGISTER <channel>', 'OP <channel>', 'AMODE <channel>', 'TOPIC <channel>', 'CLEAR <channel>', 'TRANSFER <channel>', 'DROP <channel>', 'INFO <channel>'])
      expect(help.some((l) => l.includes(cmd))).toBe(true);
    expect(fromChanServ(await c.ask('CS HELP AMODE'))[0]).toBe('Syntax: AMODE <channel> [+<mode>|-<mode> <account>]');
    expect(fromChanServ(await c.ask('CHANSERV INFO #nowhere'))).toEqual(['#nowhere is not registered.']);
    expect(await cs(c, 'INFO')).toEqual(['Not enough parameters for INFO.', 'Syntax: INFO <channel>']);
    expect(await cs(c, 'INFO nochannel')).toEqual(['nochannel is not a channel name.']);
    expect(await cs(c, 'FROB #x')).toEqual(['Unknown command FROB. Type /msg ChanServ HELP for a list of commands.']);
  });

  it('takes its nick from [services] chanserv', async () => {
    await s.start({ services: { chanserv: 'Channy' } });
    const c = await s.connect('visitor');
    expect((await c.ask('PRIVMSG Channy :INFO #x')).find((m) => m.command === 'NOTICE')!.params[1]).toBe('#x is not registered.');
    expect(commands(await c.ask('PRIVMSG ChanServ :INFO #x'))).toContain('401');
    await s.srv.stop();
    await expect(s.start({ services: { nickserv: 'Serv[1]', chanserv: 'serv{1}' } })).rejects.toThrow(/services\.chanserv: must differ from services\.nickserv/);
  });
});

describe('REGISTER and INFO', () => {
  it('registers a channel for a logged-in operator, and refuses everyone else with a reason', async () => {
    await s.start({ services: { channels_per_account: 1 } });
    const anon = await s.connect('anon');
    await anon.ask('JOIN #anon');
    expect(await cs(anon, 'REGISTER #anon')).toEqual(['You must be logged in to register a channel: /msg NickServ IDENTIFY <password>']);
    const alice = await user('alice');
    expect(await cs(alice, 'REGISTER #missing')).toEqual(['#missing does not exist: join it first.']);
    expect(await cs(alice, 'REGISTER #anon')).toEqual(['You must be a channel operator in #anon to register it.']);
    await alice.ask('JOIN #Reg');
    expect(await cs(alice, 'REGISTER #reg')).toEqual(['#Reg is now registered to alice.']);
    expect(await cs(alice, 'REGISTER #reg')).toEqual(['#Reg is already registered.']);
    await alice.ask('JOIN #second');
    expect(await cs(alice, 'REGISTER #second')).toEqual(['An account may found at most 1 channels; you have that many.']);
    const info = await cs(anon, 'INFO #REG');
    expect(info[0]).toBe('Information on #Reg:');
    expect(info).toContain('Founder: alice');
    expect(info).toContain('Access entries: 0');
    expect(info).toContain('Kept modes: +nt'); // the server's default modes
    expect(info.some((l) => /^Registered: \d{4}-/.test(l))).toBe(true);
  });
});

describe('a registered channel that empties', () => {
  it('comes back with its topic, modes and lists; the first to join gets no ops, the founder does', async () => {
    await s.start();
    const alice = await founderWithChannel();
    await alice.ask('MODE #reg +ntk-s sekrit');
    await alice.ask('MODE #reg +l 50');
    await alice.ask('MODE #reg +b *!*@banned.example');
    await alice.ask('MODE #reg +e *!*@friend.example');
    await alice.ask('MODE #reg +I *!*@invited.example');
    await alice.ask('TOPIC #reg :kept topic');
    await alice.ask('PART #reg');
    expect(s.srv.server.state.findChannel('#reg')).toBeUndefined();

    const mallory = await s.connect('mallory');
    expect(commands(await mallory.ask('JOIN #reg'))).toContain('475'); // the key came back
    expect(s.srv.server.state.findChannel('#reg')).toBeUndefined(); // and the refused join left nothing behind
    const join = await mallory.ask('JOIN #reg sekrit');
    expect(join.find((m) => m.command === '332')!.params[2]).toBe('kept topic');
    expect(await names(mallory, '#reg')).toEqual(['mallory']);
    expect(modes(join)).toEqual([]);
    const mode = (await mallory.ask('MODE #reg')).find((m) => m.command === '324')!.params;
    expect(mode.slice(2)).toEqual(['+ntkl', 'sekrit', '50']);
    expect((await mallory.ask('MODE #reg b')).find((m) => m.command === '367')!.params[2]).toBe('*!*@banned.example');
    expect((await mallory.ask('MODE #reg e')).find((m) => m.command === '348')!.params[2]).toBe('*!*@friend.example');
    expect((await mallory.ask('MODE #reg I')).find((m) => m.command === '346')!.params[2]).toBe('*!*@invited.example');
    expect(commands(await mallory.ask('MODE #reg +o mallory'))).toContain('482');

    const back = await alice.ask('JOIN #reg sekrit');
    expect(modes(back)).toEqual(['ChanServ #reg +o alice']);
    expect(await names(mallory, '#reg')).toEqual(expect.arrayContaining(['@alice', 'mallory']));
  });

  it('refuses a banned first joiner (474) and a RENAME onto its name', async () => {
    await s.start();
    const alice = await founderWithChannel();
    await alice.ask('MODE #reg +b bad!*@*');
    await alice.ask('PART #reg');
    const bad = await s.connect('bad');
    expect(commands(await bad.ask('JOIN #reg'))).toContain('474');
    expect(s.srv.server.state.findChannel('#reg')).toBeUndefined();
    await bad.ask('JOIN #other');
    const rename = await bad.ask('RENAME #other #reg');
    expect(rename.find((m) => m.command === 'FAIL')!.params.slice(1, 2)).toEqual(['CHANNEL_NAME_IN_USE']);
    expect(s.srv.server.state.findChannel('#reg')).toBeUndefined();
  });

  it('follows a RENAME of the registered channel', async () => {
    await s.start();
    const alice = await founderWithChannel();
    await alice.ask('RENAME #reg #moved');
    expect(await cs(alice, 'INFO #reg')).toEqual(['#reg is not registered.']);
    expect((await cs(alice, 'INFO #moved'))[0]).toBe('Information on #moved:');
  });
});

describe('AMODE', () => {
  it('lists and changes the access list; entries get their mode on join and at once', async () => {
    await s.start();
    const alice = await founderWithChannel();
    const bob = await user('bob');
    await bob.ask('JOIN #reg');
    expect(await cs(alice, 'AMODE #reg +v bob')).toEqual(['bob now gets +v on joining #reg.']);
    expect(await names(alice, '#reg')).toEqual(expect.arrayContaining(['@alice', '+bob']));
    const list = await cs(bob, 'AMODE #reg');
    expect(list[0]).toBe('Access list of #reg (founder: alice):');
    expect(list[1]).toMatch(/^ {2}\+v bob \(set by alice on \d{4}-/);
    expect(list[2]).toBe('End of the access list of #reg (1 entry).');
    await bob.ask('PART #reg');
    expect(modes(await bob.ask('JOIN #reg'))).toEqual(['ChanServ #reg +v bob']);
    // A classic client joins first and identifies after: it gets its mode when it logs in.
    const late = await s.connect('late');
    await late.ask('JOIN #reg');
    expect(await names(late, '#reg')).toContain('late');
    accountStore(s.srv.server).setCredentials('bob', await makeCredentials('sesame-sesame', 4096));
    expect(modes(await late.ask('PRIVMSG NickServ :IDENTIFY bob sesame-sesame'))).toEqual(['ChanServ #reg +v late']);
    expect(await cs(alice, 'AMODE #reg -v bob')).toEqual(['bob removed from the access list of #reg.']);
    expect(await cs(alice, 'AMODE #reg -v bob')).toEqual(['bob does not have +v in the access list of #reg.']);
  });

  it('refuses unknown modes and accounts, the founder, and those without enough access', async () => {
    await s.start();
    const alice = await founderWithChannel();
    const bob = await user('bob');
    await user('carol');
    expect(await cs(alice, 'AMODE #reg +q bob')).toEqual(['Unknown mode +q: AMODE takes + or - and one of o, v.']);
    expect(await cs(alice, 'AMODE #reg +v')).toEqual(['Syntax: AMODE #reg +v <account>']);
    expect(await cs(alice, 'AMODE #reg +v nobody')).toEqual(['No account is named nobody.']);
    expect(await cs(alice, 'AMODE #reg +o alice')).toEqual(['alice is the founder of #reg; TRANSFER changes the founder.']);
    expect(await cs(alice, 'AMODE #nope +v bob')).toEqual(['#nope is not registered.']);
    expect(await cs(bob, 'AMODE #reg')).toEqual(['You do not have enough access to #reg to use AMODE (voice access or above needed).']);
    expect(await cs(bob, 'AMODE #reg +v carol')).toEqual(['You do not have enough access to #reg to use AMODE (operator access or above needed).']);
    // An operator entry manages voices but not other operators.
    expect(await cs(alice, 'AMODE #reg +o bob')).toEqual(['bob now gets +o on joining #reg.']);
    expect(await cs(bob, 'AMODE #reg +v carol')).toEqual(['carol now gets +v on joining #reg.']);
    expect(await cs(bob, 'AMODE #reg +o carol')).toEqual(['Only the founder of #reg may use AMODE on it.']);
    const anon = await s.connect('anon');
    expect(await cs(anon, 'AMODE #reg')).toEqual(['You must be logged in to use AMODE on #reg.']);
  });
});

describe('OP, DEOP, VOICE and DEVOICE', () => {
  it('give and take prefixes by access, with a reason when refused', async () => {
    await s.start();
    const alice = await founderWithChannel();
    const bob = await user('bob');
    await bob.ask('JOIN #reg');
    expect(await cs(bob, 'OP #reg')).toEqual(['You do not have enough access to #reg to use OP (operator access or above needed).']);
    expect(await cs(bob, 'VOICE #reg')).toEqual(['You do not have enough access to #reg to use VOICE (voice access or above needed).']);
    expect(await cs(alice, 'OP #reg')).toEqual(['alice already has +o on #reg.']);
    const deop = await alice.ask('PRIVMSG ChanServ :DEOP #reg');
    expect(modes(deop)).toEqual(['ChanServ #reg -o alice']);
    expect(fromChanServ(deop)).toEqual(['-o alice on #reg.']);
    expect(modes(await alice.ask('PRIVMSG ChanServ :OP #reg'))).toEqual(['ChanServ #reg +o alice']);
    expect(modes(await alice.ask('PRIVMSG ChanServ :VOICE #reg bob'))).toEqual(['ChanServ #reg +v bob']);
    // Anyone may take their own prefix.
    expect(modes(await bob.ask('PRIVMSG ChanServ :DEVOICE #reg'))).toEqual(['ChanServ #reg -v bob']);
    expect(modes(await alice.ask('PRIVMSG ChanServ :OP #reg bob'))).toEqual(['ChanServ #reg +o bob']);
    expect(modes(await alice.ask('PRIVMSG ChanServ :DEOP #reg bob'))).toEqual(['ChanServ #reg -o bob']);
    expect(await cs(alice, 'OP #reg nobody')).toEqual(['nobody is not on #reg.']);
    expect(await cs(alice, 'OP #nope')).toEqual(['#nope is not registered.']);
    expect(await cs(alice, 'OP')).toEqual(['Not enough parameters for OP.', 'Syntax: OP <channel> [<nick>]']);
  });

  it('lets an oper with the override privilege act without access, with an audit line', async () => {
    const srv = await s.start(
      operConfig({
        oper_class: [
          { name: 'admin', privileges: ['override'], snomask: '' },
          { name: 'helper', privileges: [], snomask: '' },
        ],
        log: { level: 'info', destination: 'ircd.log' },
      }),
    );
    await founderWithChannel();
    const op = await s.connect('op');
    await op.ask('JOIN #reg');
    expect(await cs(op, 'OP #reg')).toEqual(['You must be logged in to use OP on #reg.']);
    await operUp(op);
    expect(modes(await op.ask('PRIVMSG ChanServ :OP #reg'))).toEqual(['ChanServ #reg +o op']);
    let audit: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !audit; i++) {
      await new Promise((r) => setTimeout(r, 50));
      audit = readFileSync(join(srv.dir, 'ircd.log'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((r) => r.audit === true && r.msg === 'chanserv override');
    }
    expect(audit).toMatchObject({ oper: 'alice', nick: 'op', command: 'OP', channel: '#reg' });
  });
});

describe('half-operators', () => {
  it('with h configured, AMODE gives +h, and a half-operator entry voices others and sets the topic but does not op', async () => {
    await s.start({ channels: { prefix: '(ohv)@%+' } });
    const alice = await founderWithChannel();
    const bob = await user('bob');
    const carol = await user('carol');
    await carol.ask('JOIN #reg');
    expect(await cs(alice, 'AMODE #reg +h bob')).toEqual(['bob now gets +h on joining #reg.']);
    expect(modes(await bob.ask('JOIN #reg'))).toEqual(['ChanServ #reg +h bob']);
    expect(modes(await bob.ask('PRIVMSG ChanServ :VOICE #reg carol'))).toEqual(['ChanServ #reg +v carol']);
    expect(await cs(bob, 'TOPIC #reg from a halfop')).toEqual(['Topic of #reg set.']);
    expect(await cs(bob, 'OP #reg')).toEqual(['You do not have enough access to #reg to use OP (operator access or above needed).']);
    expect(await cs(carol, 'VOICE #reg bob')).toEqual(['You do not have enough access to #reg to use VOICE (half-operator access or above needed).']);
  });
});

describe('TOPIC and CLEAR', () => {
  it('TOPIC sets the topic as ChanServ, kept while the channel is empty too', async () => {
    await s.start();
    const alice = await founderWithChannel();
    const bob = await user('bob');
    expect(await cs(bob, 'TOPIC #reg hijacked')).toEqual(['You do not have enough access to #reg to use TOPIC (operator access or above needed).']);
    const set = await alice.ask('PRIVMSG ChanServ :TOPIC #reg hello  there');
    expect(set.find((m) => m.command === 'TOPIC')).toMatchObject({ source: expect.stringMatching(/^ChanServ!/), params: ['#reg', 'hello there'] });
    await alice.ask('PART #reg');
    expect(await cs(alice, 'TOPIC #reg while empty')).toEqual(['Topic of #reg set.']);
    expect((await bob.ask('JOIN #reg')).find((m) => m.command === '332')!.params[2]).toBe('while empty');
  });

  it('CLEAR removes bans and exceptions, kicks the others, or empties the access list (founder only)', async () => {
    await s.start({ limits: { modes_per_line: 2 } });
    const alice = await founderWithChannel();
    const bob = await user('bob');
    await bob.ask('JOIN #reg');
    await alice.ask('MODE #reg +bb a!*@* b!*@*');
    await alice.ask('MODE #reg +e c!*@*');
    expect(await cs(bob, 'CLEAR #reg BANS')).toEqual(['Only the founder of #reg may use CLEAR on it.']);
    expect(await cs(alice, 'CLEAR #reg HATS')).toEqual(['Unknown target HATS: CLEAR clears BANS, USERS, ACCESS.']);
    const cleared = await alice.ask('PRIVMSG ChanServ :CLEAR #reg BANS');
    expect(modes(cleared)).toEqual(['ChanServ #reg -bb a!*@* b!*@*', 'ChanServ #reg -e c!*@*']);
    expect(fromChanServ(cleared)).toEqual(['Bans and exceptions of #reg cleared (3).']);
    await cs(alice, 'AMODE #reg +v bob');
    expect(await cs(alice, 'CLEAR #reg ACCESS')).toEqual(['Access list of #reg cleared (1 entry).']);
    expect(await cs(alice, 'CLEAR #reg USERS')).toEqual(['1 user kicked from #reg.']);
    expect((await bob.waitFor('KICK')).params).toEqual(['#reg', 'bob', 'Cleared by alice']);
    expect(await names(alice, '#reg')).toEqual(['@alice']);
    // Bans cleared are cleared for good: the channel comes back without them.
    await alice.ask('PART #reg');
    await alice.ask('JOIN #reg');
    expect(commands(await alice.ask('MODE #reg b'))).not.toContain('367');
  });
});

describe('TRANSFER and DROP', () => {
  it('TRANSFER gives the channel to another account (founder only)', async () => {
    await s.start();
    const alice = await founderWithChannel();
    const bob = await user('bob');
    expect(await cs(bob, 'TRANSFER #reg bob')).toEqual(['Only the founder of #reg may use TRANSFER on it.']);
    expect(await cs(alice, 'TRANSFER #reg nobody')).toEqual(['No account is named nobody.']);
    expect(await cs(alice, 'TRANSFER #reg alice')).toEqual(['alice is already the founder of #reg.']);
    expect(await cs(alice, 'TRANSFER #reg bob')).toEqual(['#reg now belongs to bob.']);
    expect(await cs(alice, 'INFO #reg')).toContain('Founder: bob');
    expect(await cs(alice, 'DROP #reg')).toEqual(['Only the founder of #reg may use DROP on it.']);
  });

  it('DROP unregisters: the next channel of that name is anyone\'s again', async () => {
    await s.start();
    const alice = await founderWithChannel();
    expect(await cs(alice, 'DROP #reg')).toEqual(['#reg is no longer registered.']);
    expect(await cs(alice, 'INFO #reg')).toEqual(['#reg is not registered.']);
    await alice.ask('PART #reg');
    const anon = await s.connect('anon');
    await anon.ask('JOIN #reg');
    expect(await names(anon, '#reg')).toEqual(['@anon']);
  });
});

describe('dropping accounts', () => {
  it('passes a channel to its oldest operator entry, drops one without, and removes access entries', async () => {
    await s.start(
      operConfig({
        oper_class: [
          { name: 'admin', privileges: ['accounts'], snomask: '' },
          { name: 'helper', privileges: [], snomask: '' },
        ],
      }),
    );
    const alice = await founderWithChannel('#heir');
    await alice.ask('JOIN #alone');
    await cs(alice, 'REGISTER #alone');
    await user('bob');
    await user('carol');
    await cs(alice, 'AMODE #heir +v carol');
    await cs(alice, 'AMODE #heir +o bob');
    const op = await s.connect('op');
    await operUp(op);
    expect(fromChanServ(await op.ask('PRIVMSG NickServ :SADROP carol'))).toEqual([]);
    expect((await cs(alice, 'AMODE #heir')).slice(1, -1)).toEqual([expect.stringMatching(/^ {2}\+o bob /)]);
    await op.ask('PRIVMSG NickServ :SADROP alice');
    expect(await cs(op, 'INFO #heir')).toContain('Founder: bob');
    expect(await cs(op, 'INFO #alone')).toEqual(['#alone is not registered.']);
    expect(accountStore(s.srv.server).get('alice')).toBeUndefined();
  });
});
