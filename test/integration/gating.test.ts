// What the router enforces from each command's declaration, end to end: parameter counts that
// depend on a subcommand or on emptiness, target limits (TARGMAX) and flood penalties.
import { describe, expect, it } from 'vitest';
import { useSession } from '../support/session.js';

const session = useSession();
const { start, connect, raw } = session;

const numerics = (msgs: Array<{ command: string; params: string[] }>) => msgs.map((m) => [m.command, ...m.params.slice(1)].join(' '));

describe('parameter counts from the declaration', () => {
  it('answers 461 for a subcommand short of its parameters and for an empty required one', async () => {
    await start();
    const a = await connect('alice', { caps: ['batch', 'draft/multiline', 'draft/metadata-3'] });
    expect(numerics(await a.ask('BATCH +b1'))).toEqual(['461 BATCH Not enough parameters']);
    expect(numerics(await a.ask('BATCH -b1'))).toEqual(['FAIL MULTILINE_INVALID No open batch b1']);
    expect(numerics(await a.ask('MONITOR -'))).toEqual(['461 MONITOR Not enough parameters']);
    expect(numerics(await a.ask('MONITOR + :'))).toEqual(['461 MONITOR Not enough parameters']);
    expect(numerics(await a.ask('METADATA * SUB'))).toEqual(['461 METADATA Not enough parameters']);
    const c = await raw();
    c.send('NICK carol');
    c.send('USER carol * * :');
    expect((await c.waitFor('461')).params).toEqual(['carol', 'USER', 'Not enough parameters']);
  });
});

describe('target limits', () => {
  it('answers 407 past TARGMAX and runs the command for the targets before it', async () => {
    await start({ limits: { max_targets: 2 } });
    const a = await connect('alice');
    const b = await connect('bob');
    const c = await connect('carol');
    const d = await connect('dave');
    const isupport = a.lines.filter((l) => l.split(' ')[1] === '005').join(' ');
    expect(/TARGMAX=(\S+)/.exec(isupport)![1]!.split(',')).toEqual(expect.arrayContaining(['PRIVMSG:2', 'WHOIS:2', 'KICK:2']));

    expect(numerics(await a.ask('PRIVMSG bob,carol,dave :hi all'))).toEqual(['407 dave Too many targets, at most 2']);
    for (const to of [b, c]) expect((await to.waitFor('PRIVMSG')).params).toEqual([to.nick, 'hi all']);
    await d.collectUntilPong();
    expect(d.lines.some((l) => l.includes('hi all'))).toBe(false);
    // NOTICE is never answered automatically: the extra targets are dropped silently.
    expect(numerics(await a.ask('NOTICE bob,carol,dave :psst'))).toEqual([]);

    const whois = numerics(await a.ask('WHOIS irc.test bob,carol,dave'));
    expect(whois[0]).toBe('407 dave Too many targets, at most 2');
    expect(whois.filter((l) => l.startsWith('318 '))).toEqual(['318 bob End of /WHOIS list', '318 carol End of /WHOIS list']);
  });
});

describe('flood penalties', () => {
  it('makes the lines after an expensive command wait for the tokens it used', async () => {
    await start({ class: [{ name: 'default', max_per_ip: 100, flood: { burst: 10, rate: 2 } }] });
    const a = await connect('alice'); // NICK and USER leave 8 tokens
    const t0 = Date.now();
    a.sendRaw('PING before\r\nLIST\r\nLIST\r\nPING after\r\n');
    await a.waitFor((m) => m.command === 'PONG' && m.params[1] === 'before');
    expect(Date.now() - t0).toBeLessThan(1000);
    // Each LIST costs 5 tokens: the second leaves -3, so PING waits for 4 more at 2 a second.
    await a.waitFor((m) => m.command === 'PONG' && m.params[1] === 'after', { timeout: 5000 });
    expect(Date.now() - t0).toBeGreaterThan(1500);
  });
});
