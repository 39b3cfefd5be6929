// The utf8 casemapping over sockets: Unicode nicks and channel names, their refusals with reasons,
// look-alike (TR39 confusable) nicks counted as taken for NICK, REGISTER and nick reservation,
// MONITOR under the mapping, and a casemapping change on REHASH waiting for a restart.
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { type RawConfig, type TestClient, testConfig, toToml } from '../support/harness.js';
import { operConfig, operUp } from '../support/oper.js';
import { useSession } from '../support/session.js';

const s = useSession();
const UTF8 = { server: { name: 'irc.test', network: 'TestNet', motd: 'motd.txt', casemapping: 'utf8' } };

function utf8(patch: RawConfig = {}): RawConfig {
  return { ...UTF8, ...patch };
}

async function ask(c: TestClient, line: string): Promise<string[][]> {
  c.send(line);
  return (await c.collectUntilPong()).map((m: Message) => [m.command, ...m.params]);
}

describe('utf8 casemapping', () => {
  it('announces CASEMAPPING=ascii with UTF8MAPPING=rfc8265, and only under utf8', async () => {
    let srv = await s.start(utf8());
    const a = await s.connect('José', { user: 'jose' });
    const isupport = a.lines.filter((l) => l.split(' ')[1] === '005').join(' ');
    expect(isupport).toContain(' CASEMAPPING=ascii ');
    expect(isupport).toContain(' UTF8MAPPING=rfc8265 ');
    await srv.stop();
    srv = await s.start();
    const b = await s.connect('plain');
    const classic = b.lines.filter((l) => l.split(' ')[1] === '005').join(' ');
    expect(classic).toContain(' CASEMAPPING=rfc1459 ');
    expect(classic).not.toContain('UTF8MAPPING');
  });

  it('takes Unicode nicks; case and canonical variants of one collide; refused forms get 432 with the reason', async () => {
    await s.start(utf8());
    const jose = await s.connect('José', { user: 'jose' });
    const other = await s.connect('other');
    expect(await ask(other, 'NICK JOSÉ')).toEqual([['433', 'other', 'JOSÉ', 'Nickname is already in use']]);
    // "José" typed decomposed (e + combining acute) is the same nick.
    expect(await ask(other, 'NICK Jose\u0301')).toEqual([['433', 'other', 'José', 'Nickname is already in use']]);
    expect(await ask(other, 'NICK a\u202eb')).toEqual([['432', 'other', 'a\u202eb', 'Erroneous nickname: U+202E is not a letter, digit or combining mark']]);
    expect(await ask(other, 'NICK ab\u0378')).toEqual([['432', 'other', 'ab\u0378', 'Erroneous nickname: U+0378 is not an assigned character']]);
    expect(await ask(other, 'NICK ﬀ')).toEqual([['432', 'other', 'ﬀ', 'Erroneous nickname: U+FB00 is a compatibility character; write ff instead']]);
    expect(await ask(other, 'NICK 1abc')).toEqual([['432', 'other', '1abc', 'Erroneous nickname: must not start with a digit, "-" or a combining mark']]);
    // A decomposed nick is kept NFC: that is the form everyone sees.
    const changed = await ask(other, 'NICK Rene\u0301');
    expect(changed).toEqual([['NICK', 'René']]);
    // Messages reach a nick whatever its case.
    other.send('PRIVMSG JOSÉ :olá');
    expect((await jose.waitFor('PRIVMSG')).params).toEqual(['JOSÉ', 'olá']);
  });

  it('joins #café whatever its case or form, and refuses unassigned or invisible characters with 479', async () => {
    await s.start(utf8());
    const a = await s.connect('alice');
    const b = await s.connect('bob');
    a.send('JOIN #café');
    await a.waitFor('366');
    b.send('JOIN #CAFE\u0301');
    expect((await b.waitFor('JOIN')).params[0]).toBe('#café');
    expect((await a.waitFor('JOIN')).source).toMatch(/^bob!/);
    expect(await ask(b, 'JOIN #a\u0378')).toEqual([['479', 'bob', '#a\u0378', 'Illegal channel name: U+0378 is not an assigned character']]);
    expect(await ask(b, 'JOIN #a\u202eb')).toEqual([['479', 'bob', '#a\u202eb', 'Illegal channel name: U+202E shows as nothing or reorders the text']]);
    // RENAME holds the new name to the same rules, and keeps it NFC.
    expect(await ask(a, 'RENAME #café #th\u0378')).toEqual([
      ['FAIL', 'RENAME', 'CANNOT_RENAME', '#café', '#th\u0378', 'Illegal channel name: U+0378 is not an assigned character'],
    ]);
    a.send('RENAME #café #the\u0301');
    expect((await b.waitFor('JOIN')).params[0]).toBe('#thé');
  });

  it('refuses a nick that looks like one in use (Cyrillic а for Latin a), and lets its holder change case', async () => {
    await s.start(utf8());
    const alice = await s.connect('alice');
    const other = await s.connect('other');
    expect(await ask(other, 'NICK \u0430lice')).toEqual([['433', 'other', '\u0430lice', 'Nickname is too like alice, which is in use']]);
    expect(await ask(other, 'NICK ＡLICE')).toEqual([['433', 'other', 'ALICE', 'Nickname is already in use']]);
    expect(await ask(alice, 'NICK ALICE')).toEqual([['NICK', 'ALICE']]);
    // Once alice is gone the look-alike is free.
    alice.close();
    await other.waitFor('QUIT').catch(() => undefined);
    for (let i = 0; i < 50 && s.srv.server.state.findNick('ALICE'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(await ask(other, 'NICK \u0430lice')).toEqual([['NICK', '\u0430lice']]);
  });

  it('treats a look-alike of an account name as that name for REGISTER and nick reservation', async () => {
    await s.start(utf8({ accounts: { nick_reservation: 'warn' } }));
    const evan = await s.connect('evan', { caps: ['draft/account-registration'] });
    evan.send('REGISTER * * hunter2hunter2');
    await evan.waitFor('900');
    evan.send('NICK evan_away');
    await evan.waitFor('NICK');
    // U+0435 (Cyrillic е) in place of e.
    const imposter = await s.connect('\u0435van', { caps: ['draft/account-registration'], user: 'imp' });
    const notice = await imposter.waitFor((m) => m.command === 'NOTICE' && /account/.test(m.params[1]!));
    expect(notice.params[1]).toBe('The nick \u0435van looks like the account evan. Please log in to it or choose another nick. To log in: /msg NickServ IDENTIFY <password>');
    expect(await ask(imposter, 'REGISTER * * hunter2hunter2')).toEqual([['FAIL', 'REGISTER', 'ACCOUNT_EXISTS', '\u0435van', 'That name is not available']]);
    // The account's owner may take the look-alike without a warning.
    imposter.send('NICK someone');
    await imposter.waitFor('NICK');
    expect(await ask(evan, 'NICK \u0435van')).toEqual([['NICK', '\u0435van']]);
  });

  it('matches bans under the mapping: +b JOSÉ!*@* keeps José out', async () => {
    await s.start(utf8());
    const op = await s.connect('op');
    op.send('JOIN #room');
    await op.waitFor('366');
    op.send('MODE #room +b JOSÉ!*@*');
    await op.waitFor('MODE');
    const jose = await s.connect('José', { user: 'jose' });
    expect(await ask(jose, 'JOIN #room')).toEqual([['474', 'José', '#room', 'Cannot join channel (+b)']]);
  });

  it('MONITOR follows the mapping: a watch on JOSÉ reports José', async () => {
    await s.start(utf8());
    const a = await s.connect('watcher');
    expect(await ask(a, 'MONITOR + JOSÉ')).toEqual([['731', 'watcher', 'JOSÉ']]);
    await s.connect('José', { user: 'jose' });
    expect((await a.waitFor('730')).params).toEqual(['watcher', 'José!jose@127.0.0.1']);
    expect(await ask(a, 'MONITOR + a\u202eb')).toEqual([['432', 'watcher', 'a\u202eb', 'Erroneous nickname']]);
  });

  it('keeps the running casemapping on REHASH and says a restart is needed', async () => {
    const srv = await s.start(operConfig());
    const op = await s.connect('op');
    await operUp(op);
    writeFileSync(srv.configPath, toToml(testConfig(operConfig(UTF8))));
    op.send('REHASH');
    expect((await op.waitFor('WARN')).params).toEqual(['REHASH', 'NEEDS_RESTART', 'Reloaded; changed but needs a restart: server.casemapping']);
    expect(srv.server.config.server.casemapping).toBe('rfc1459');
    expect(await ask(op, 'NICK José')).toEqual([['432', 'op', 'José', 'Erroneous nickname']]);
  });
});
