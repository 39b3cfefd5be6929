// Operators: OPER (password, host masks, TLS certificate fingerprints, rate limit), KILL, WALLOPS,
// LOCOPS, GLOBOPS, DIE, RESTART, server notices (+s) and the audit log.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/password.js';
import type { Message } from '../../src/protocol/message.js';
import { client, TestClient } from '../support/harness.js';
import { useSession } from '../support/session.js';
import { operConfig, operUp, PASSWORD } from '../support/oper.js';
import { makeSelfSignedCert } from '../support/tls.js';

const s = useSession();

describe('OPER', () => {
  it('grants +o and the snomask in one MODE line with 381, and tells the other opers', async () => {
    const srv = await s.start(operConfig());
    const watcher = await client(srv.port, 'watcher');
    await operUp(watcher);
    const a = await client(srv.port, 'ann');
    a.send(`OPER alice ${PASSWORD}`);
    const replies = await a.collectUntilPong();
    const modes = replies.filter((m) => m.command === 'MODE');
    expect(modes.map((m) => m.params)).toEqual([['ann', '+os']]);
    expect(replies.find((m) => m.command === '381')?.params).toEqual(['ann', 'You are now an IRC operator']);
    expect(replies.find((m) => m.command === '008')?.params.slice(0, 2)).toEqual(['ann', '+bcko']);
    await watcher.waitFor((m) => m.command === 'NOTICE' && /ann \(ann@127\.0\.0\.1\) is now an operator \(alice, class admin\)/.test(m.params[1]!));
    expect(srv.server.state.findNick('ann')!.oper?.privileges.has('kill')).toBe(true);
  });

  it('answers 464 for a wrong password, 491 for a host or name that does not match, 461 without password', async () => {
    const srv = await s.start(operConfig());
    const a = await client(srv.port, 'ann');
    a.send('OPER alice wrong');
    expect((await a.waitFor('464')).params[0]).toBe('ann');
    a.send(`OPER faraway ${PASSWORD}`);
    expect((await a.waitFor('491')).params[0]).toBe('ann');
    a.send(`OPER nobody ${PASSWORD}`);
    await a.waitFor('491');
    const b = await client(srv.port, 'bea');
    b.send('OPER alice');
    await b.waitFor('461');
    expect(srv.server.state.findNick('ann')!.oper).toBeUndefined();
    expect(srv.server.state.findNick('ann')!.modes.has('o')).toBe(false);
  });

  it('logs failures and refuses further attempts once the per-connection limit is reached', async () => {
    const srv = await s.start(operConfig({ oper_limits: { failures_per_connection: 2, failures_per_ip: 50 } }));
    const watcher = await client(srv.port, 'watcher');
    await operUp(watcher);
    const a = await client(srv.port, 'ann');
    a.send('OPER alice wrong1');
    await a.waitFor('464');
    await watcher.waitFor((m) => m.command === 'NOTICE' && /Failed OPER attempt as alice by ann .*wrong password/.test(m.params[1]!));
    a.send('OPER alice wrong2');
    await a.waitFor('464');
    // Even the right password is now refused without being checked.
    a.send(`OPER alice ${PASSWORD}`);
    expect((await a.waitFor('464')).params[1]).toMatch(/Too many failed OPER attempts/);
    expect(srv.server.state.findNick('ann')!.oper).toBeUndefined();
    // Another connection is not affected by this one's limit.
    const b = await client(srv.port, 'bea');
    await operUp(b);
  });

  it('applies the per-IP limit across connections', async () => {
    const srv = await s.start(operConfig({ oper_limits: { failures_per_connection: 10, failures_per_ip: 2 } }));
    for (const nick of ['one', 'two']) {
      const c = await client(srv.port, nick);
      c.send('OPER alice wrong');
      await c.waitFor('464');
    }
    const c = await client(srv.port, 'three');
    c.send(`OPER alice ${PASSWORD}`);
    expect((await c.waitFor('464')).params[1]).toMatch(/Too many/);
  });

  it('counts OPER attempts still hashing against the address, so parallel guesses meet its limit', async () => {
    const srv = await s.start(operConfig({ oper_limits: { failures_per_connection: 10, failures_per_ip: 2 } }));
    const conns = await Promise.all(['p1', 'p2', 'p3', 'p4', 'p5', 'p6'].map((nick) => client(srv.port, nick)));
    for (const c of conns) c.send('OPER alice wrong');
    const answers = await Promise.all(conns.map((c) => c.waitFor('464')));
    // Two are checked; the rest arrive while those are still hashing and are refused unchecked.
    expect(answers.filter((m) => m.params[1] === 'Password incorrect')).toHaveLength(2);
    expect(answers.filter((m) => /Too many/.test(m.params[1]!))).toHaveLength(4);
  });

  it('accepts a TLS client certificate by fingerprint, and refuses without it', async () => {
    const server = makeSelfSignedCert('irc.test');
    const user = makeSelfSignedCert('oper-client');
    const fp = new X509Certificate(readFileSync(user.cert)).fingerprint256; // "AB:CD:..." form
    const srv = await s.start(operConfig({ listen: [{ address: '127.0.0.1', port: 0, tls: server }] }, [fp]));
    const withCert = await TestClient.connectTls(srv.port, { cert: readFileSync(user.cert), key: readFileSync(user.key) });
    await withCert.register('certy');
    withCert.send('OPER certonly');
    await withCert.waitFor('381');
    const without = await TestClient.connectTls(srv.port);
    await without.register('nocert');
    without.send('OPER certonly anything');
    await without.waitFor('464');
  });

  it('lets an oper drop +o, which ends the session', async () => {
    const srv = await s.start(operConfig());
    const a = await client(srv.port, 'ann');
    await operUp(a);
    a.send('MODE ann -o');
    await a.waitFor((m) => m.command === 'MODE' && m.params[1] === '-o');
    expect(srv.server.state.findNick('ann')!.oper).toBeUndefined();
    a.send('KILL ann :x');
    await a.waitFor('481');
  });
});

describe('server notices and the audit log', () => {
  it('shows connects and exits to opers with snomask c, and logs oper actions with audit: true', async () => {
    const srv = await s.start(operConfig({ log: { level: 'info', destination: 'ircd.log' } }));
    const op = await client(srv.port, 'op');
    await operUp(op);
    const u = await client(srv.port, 'visitor', { realname: 'Vis Itor' });
    await op.waitFor((m) => m.command === 'NOTICE' && /Client connecting: visitor \(visitor@127\.0\.0\.1\) \[127\.0\.0\.1\] \{default\} \[Vis Itor\]/.test(m.params[1]!));
    u.send('QUIT :bye');
    await op.waitFor((m) => m.command === 'NOTICE' && /Client exiting: visitor .*\(Quit: bye\)/.test(m.params[1]!));
    const v = await client(srv.port, 'victim');
    op.send('KILL victim :spamming');
    await v.waitClosed();
    await op.collectUntilPong();
    // pino writes the file asynchronously: wait until the last audit record has landed.
    const readAudits = () =>
      readFileSync(join(srv!.dir, 'ircd.log'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((r) => r.audit === true);
    let audits = readAudits();
    for (let i = 0; i < 50 && !audits.some((r) => r.msg === 'kill'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      audits = readAudits();
    }
    expect(audits.find((r) => r.msg === 'oper up')).toMatchObject({ oper: 'alice', nick: 'op' });
    expect(audits.find((r) => r.msg === 'kill')).toMatchObject({ oper: 'alice', target: 'victim!victim@127.0.0.1', reason: 'spamming' });
  });
});

describe('KILL', () => {
  it('needs the kill privilege (481), and kills with ERROR and QUIT "Killed (oper (reason))"', async () => {
    const srv = await s.start(operConfig());
    const op = await client(srv.port, 'op');
    await operUp(op);
    const helper = await client(srv.port, 'helpy');
    await operUp(helper, 'helper');
    const victim = await client(srv.port, 'victim');
    const peer = await client(srv.port, 'peer');
    victim.send('JOIN #room');
    await victim.waitFor('366');
    peer.send('JOIN #room');
    await peer.waitFor('366');

    for (const c of [peer, helper]) {
      c.send('KILL victim :nope');
      expect((await c.waitFor('481')).params[0]).toBe(c.nick);
    }
    op.send('KILL victim :spamming');
    const error = await victim.waitFor('ERROR');
    expect(error.params[0]).toContain('Killed (op (spamming))');
    await victim.waitClosed();
    const quit = await peer.waitFor('QUIT');
    expect(quit.source).toMatch(/^victim!/);
    expect(quit.params[0]).toBe('Killed (op (spamming))');
    await op.waitFor((m) => m.command === 'NOTICE' && /Received KILL message for victim .* from op: spamming/.test(m.params[1]!));
  });

  it('answers 401 for an unknown nick, 483 for the server, and accepts a missing reason', async () => {
    const srv = await s.start(operConfig());
    const op = await client(srv.port, 'op');
    await operUp(op);
    op.send('KILL ghost :x');
    await op.waitFor('401');
    op.send('KILL irc.test :x');
    await op.waitFor('483');
    const v = await client(srv.port, 'victim');
    op.send('KILL victim');
    expect((await v.waitFor('ERROR')).params[0]).toContain('Killed (op (No reason given))');
  });
});

describe('WALLOPS', () => {
  it('needs the wallops privilege and reaches exactly the +w users', async () => {
    const srv = await s.start(operConfig());
    const op = await client(srv.port, 'op');
    await operUp(op);
    const plain = await client(srv.port, 'plain');
    const reader = await client(srv.port, 'reader');
    reader.send('MODE reader +w');
    await reader.waitFor('MODE');
    plain.send('WALLOPS :hello');
    await plain.waitFor('481');
    op.send('WALLOPS :hi everyone');
    const got = await reader.waitFor('WALLOPS');
    expect(got.source).toMatch(/^op!/);
    expect(got.params).toEqual(['hi everyone']);
    expect((await plain.collectUntilPong()).filter((m) => m.command === 'WALLOPS')).toEqual([]);
  });
});

describe('LOCOPS and GLOBOPS', () => {
  it('need the wallops privilege and reach the opers whose snomask has l or g, sender included', async () => {
    const srv = await s.start(
      operConfig({
        oper_class: [
          { name: 'both', privileges: ['wallops'], snomask: 'gl' },
          { name: 'local', privileges: [], snomask: 'l' },
          { name: 'none', privileges: [], snomask: 'c' },
        ],
        oper: [
          { name: 'alice', password: hashPassword(PASSWORD), class: 'both' },
          { name: 'lou', password: hashPassword(PASSWORD), class: 'local' },
          { name: 'nel', password: hashPassword(PASSWORD), class: 'none' },
        ],
      }),
    );
    const op = await client(srv.port, 'op');
    await operUp(op, 'alice');
    const lou = await client(srv.port, 'lou');
    await operUp(lou, 'lou');
    const nel = await client(srv.port, 'nel');
    await operUp(nel, 'nel');
    const plain = await client(srv.port, 'plain');
    for (const cmd of ['LOCOPS', 'GLOBOPS']) {
      plain.send(`${cmd} :hello`);
      expect((await plain.waitFor('481')).params[0]).toBe('plain');
      lou.send(`${cmd} :hello`);
      await lou.waitFor('481');
      plain.send(cmd);
      await plain.waitFor('461');
    }
    const notice = (text: string) => (m: Message) => m.command === 'NOTICE' && m.params[1] === `*** Notice -- ${text}`;
    op.send('LOCOPS :local ears only');
    await op.waitFor(notice('LOCOPS from op: local ears only'));
    await lou.waitFor(notice('LOCOPS from op: local ears only'));
    op.send('GLOBOPS :network-wide');
    await op.waitFor(notice('GLOBOPS from op: network-wide'));
    // lou's snomask has l only, nel's neither; users without +s never get them.
    for (const c of [lou, nel, plain]) await c.collectUntilPong();
    const heard = (c: TestClient) => c.lines.filter((l) => / NOTICE \S+ :\*\*\* Notice -- (LOCOPS|GLOBOPS) from /.test(l)).length;
    expect([heard(op), heard(lou), heard(nel), heard(plain)]).toEqual([2, 1, 0, 0]);
  });
});

describe('DIE and RESTART', () => {
  it('need the die privilege', async () => {
    const srv = await s.start(operConfig());
    const c = await client(srv.port, 'someone');
    for (const cmd of ['DIE', 'RESTART']) {
      c.send(`${cmd} :bye`);
      await c.waitFor('481');
    }
    const helper = await client(srv.port, 'helpy');
    await operUp(helper, 'helper');
    helper.send('DIE');
    await helper.waitFor('481');
    expect(srv.server.stopping).toBe(false);
  });

  it('DIE stops the server and tells every client why', async () => {
    const srv = await s.start(operConfig());
    const op = await client(srv.port, 'op');
    await operUp(op);
    const other = await client(srv.port, 'other');
    op.send('DIE :maintenance');
    expect((await other.waitFor('ERROR')).params[0]).toMatch(/Shutdown by op: maintenance/);
    await other.waitClosed();
    expect(srv.server.stopping).toBe(true);
  });
});
