// HELP and HELPOP (Modern IRC): 704 first line, 705 middle lines, 706 last line, or a single 524.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { client, startServer, TestClient, type TestServer } from '../support/harness.js';

let ts: TestServer | undefined;

afterEach(async () => {
  await ts?.stop();
  ts = undefined;
});

/** Starts a server with one extra oper-only command, so the test does not depend on which oper commands exist. */
async function start(): Promise<TestServer> {
  ts = await startServer();
  ts.server.router.register({
    name: 'help-test',
    commands: {
      FROBNICATE: { privilege: 'die', handler: () => {}, help: ['FROBNICATE <thing>', 'Frobnicates a thing.'] },
    },
  });
  return ts;
}

async function ask(c: TestClient, line: string): Promise<Message[]> {
  c.send(line);
  return (await c.collectUntilPong()).filter((m) => ['704', '705', '706', '524'].includes(m.command));
}

/** Checks the 704/705.../706 shape with the given subject and returns the text lines. */
function helpText(replies: Message[], nick: string, subject: string): string[] {
  expect(replies.length).toBeGreaterThanOrEqual(2);
  replies.forEach((m, i) => {
    expect(m.command).toBe(i === 0 ? '704' : i === replies.length - 1 ? '706' : '705');
    expect(m.params.slice(0, 2)).toEqual([nick, subject]);
    expect(m.params).toHaveLength(3);
  });
  return replies.map((m) => m.params[2]!);
}

describe('HELP', () => {
  it('lists the commands a user can use, with a title and an empty second line', async () => {
    const t = await start();
    const c = await client(t.port, 'helper');
    const text = helpText(await ask(c, 'HELP'), 'helper', '*');
    expect(text[0]).toMatch(/help/i);
    expect(text[1]).toBe('');
    const listed = text.join(' ').split(' ');
    for (const name of ['PRIVMSG', 'JOIN', 'HELP', 'HELPOP', 'QUIT']) expect(listed).toContain(name);
    expect(listed).not.toContain('FROBNICATE');
    expect(text.join('\n')).not.toMatch(/operator commands/i);
  });

  it('explains one command, its subject casefolded to upper case', async () => {
    const t = await start();
    const c = await client(t.port, 'helper');
    const text = helpText(await ask(c, 'HELP privmsg'), 'helper', 'PRIVMSG');
    expect(text[1]).toBe('');
    const def = t.server.router.commands.get('PRIVMSG')!;
    expect(text).toContain(`Syntax: ${def.help![0]}`);
    expect(text.at(-1)).toBe(def.help!.at(-1));
  });

  it('answers 524 to an unknown topic, and to an invalid subject with "*"', async () => {
    const t = await start();
    const c = await client(t.port, 'helper');
    const unknown = await ask(c, 'HELP nosuchthing');
    expect(unknown).toHaveLength(1);
    expect(unknown[0]!.command).toBe('524');
    expect(unknown[0]!.params.slice(0, 2)).toEqual(['helper', 'NOSUCHTHING']);
    const invalid = await ask(c, 'HELP :two words');
    expect(invalid.map((m) => [m.command, m.params[1]])).toEqual([['524', '*']]);
  });

  it('hides operator commands from users and shows them to opers who may use them', async () => {
    const t = await start();
    const user = await client(t.port, 'user1');
    expect((await ask(user, 'HELP FROBNICATE')).map((m) => m.command)).toEqual(['524']);

    const oper = await client(t.port, 'oper1');
    t.server.state.findNick('oper1')!.oper = { name: 'test', privileges: new Set(['die']) };
    const list = helpText(await ask(oper, 'HELP'), 'oper1', '*');
    const at = list.findIndex((l) => /operator commands/i.test(l));
    expect(at).toBeGreaterThan(0);
    expect(list.slice(at).join(' ').split(' ')).toContain('FROBNICATE');
    const one = helpText(await ask(oper, 'HELP frobnicate'), 'oper1', 'FROBNICATE');
    expect(one).toContain('Syntax: FROBNICATE <thing>');
    expect(one.at(-1)).toMatch(/privilege "die"/);

    // An oper without that privilege cannot use the command, so HELP does not offer it either.
    t.server.state.findNick('user1')!.oper = { name: 'test', privileges: new Set(['kill']) };
    expect((await ask(user, 'HELP FROBNICATE')).map((m) => m.command)).toEqual(['524']);
  });

  it('lists what people type, not what client software sends, and still explains the latter', async () => {
    const t = await start();
    const c = await client(t.port, 'helper');
    const text = helpText(await ask(c, 'HELP'), 'helper', '*');
    const listed = text.join(' ').split(' ');
    for (const name of ['CAP', 'PASS', 'USER', 'PING', 'PONG', 'AUTHENTICATE', 'WEBIRC', 'BATCH', 'TAGMSG', 'CHATHISTORY'])
      expect(listed).not.toContain(name);
    for (const name of ['NICK', 'WHOIS', 'MOTD', 'TOPIC', 'MODE']) expect(listed).toContain(name);
    // Clients answer /HELP themselves: the hint names /quote.
    expect(text.at(-1)).toBe('Use /quote HELP <command> for help on one command.');
    expect(helpText(await ask(c, 'HELP CAP'), 'helper', 'CAP')).toContain(`Syntax: ${t.server.router.commands.get('CAP')!.help![0]}`);
  });

  it('is named as /quote HELP in the shipped MOTD', async () => {
    ts = await startServer({}, { 'motd.txt': readFileSync(join(import.meta.dirname, '../../motd.txt'), 'utf8') });
    const c = await TestClient.connect(ts.port);
    c.send('NICK reader');
    c.send('USER reader 0 * :Reader');
    await c.waitFor('376');
    const motd = c.lines.filter((l) => / 372 /.test(l)).join('\n');
    expect(motd).toMatch(/Type \/quote HELP /);
    c.close();
  });

  it('HELPOP is the same command', async () => {
    const t = await start();
    const c = await client(t.port, 'helper');
    expect(helpText(await ask(c, 'HELPOP'), 'helper', '*').length).toBeGreaterThan(3);
    expect(helpText(await ask(c, 'HELPOP NICK'), 'helper', 'NICK')).toContain(`Syntax: ${t.server.router.commands.get('NICK')!.help![0]}`);
  });

  it('needs registration', async () => {
    const t = await start();
    const c = await TestClient.connect(t.port);
    c.send('HELP');
    expect((await c.waitFor('451')).params[1]).toMatch(/registered/);
    c.close();
  });

  it('has text for every loaded command, its first line being the syntax', async () => {
    const t = await start();
    for (const [name, def] of t.server.router.commands) {
      expect(def.help?.length, `${name} (module ${def.module}) has no help text`).toBeGreaterThanOrEqual(2);
      expect(def.help![0]!.split(' ')[0], `${name}: the first help line is the syntax`).toBe(name);
    }
  });
});
