// A link with a charybdis-family server, played by the test over a raw socket: a peer without
// EUID and SAVE (as old TS6 servers are) gets UID with ENCAP LOGIN, nick collisions by KILL;
// its UID/ENCAP REALHOST/LOGIN are taken; its mode letters that mean something else here, or
// nothing, are dropped with their parameters; its KILL's "<path> (<reason>)" is read.
import { afterEach, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { makeSelfSignedCert, type CertFiles } from '../support/tls.js';
import { loggedInClient } from '../support/login.js';
import { client, TestClient, waitUntil, type TestServer } from '../support/harness.js';
import { LINK_PASSWORD, linkBlock, linkDaemon, type LinkedServer } from '../support/link.js';

const running: TestServer[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of running.splice(0)) await s.stop();
});

/** Daemon a.test (SID 1AA, prefixes ohv) with a [[link]] block for the raw peer old.test, and a TLS client listener with `clientTls`. */
async function daemon(clientTls?: CertFiles): Promise<LinkedServer & { tlsPort: number | undefined }> {
  const ts = await linkDaemon('a.test', '1AA', [linkBlock('old.test', { hub: true })], {
    channels: { prefix: '(ohv)@%+' },
    ...(clientTls
      ? {
          listen: [
            { address: '127.0.0.1', port: 0 },
            { address: '127.0.0.1', port: 0, servers: true },
            { address: '127.0.0.1', port: 0, tls: clientTls },
          ],
        }
      : {}),
  });
  running.push(ts);
  const tlsListener = [...ts.server.listeners.values()].find((l) => l.cfg.tls);
  return { ...ts, port: [...ts.server.listeners.values()].find((l) => !l.cfg.servers && !l.cfg.tls)!.port, tlsPort: tlsListener?.port };
}

/** Links the raw peer "old.test" (SID 9OL) with the CAPAB given; resolves once our burst's PING came. */
async function peer(a: TestServer & { serverPort: number }, capab = 'QS EX IE ENCAP TB'): Promise<TestClient> {
  const p = await TestClient.connect(a.serverPort);
  clients.push(p);
  p.send(`PASS ${LINK_PASSWORD} TS 6 :9OL`);
  p.send(`CAPAB :${capab}`);
  p.send('SERVER old.test 1 :an old TS6 server');
  p.send(`SVINFO 6 6 0 :${Math.floor(Date.now() / 1000)}`);
  await p.waitFor((m) => m.command === 'PING' && m.source === '1AA');
  p.send(':9OL PONG old.test :1AA');
  return p;
}

const now = () => Math.floor(Date.now() / 1000);

describe('a link with a TS6 server of the charybdis family', () => {
  it('bursts UID with ENCAP LOGIN to a peer without EUID, and only the modes it shares', async () => {
    const a = await daemon();
    const alice = await loggedInClient(a.server, a.port, 'alice', 'alice');
    clients.push(alice);
    alice.send('MODE alice +B');
    alice.send('JOIN #ours');
    await alice.waitFor('366');
    // U (ours: moderated to operators) and h (halfop) are not theirs.
    alice.send('MODE #ours +Uh alice');
    await alice.waitFor((m) => m.command === 'MODE' && m.params[1] === '+Uh');
    const p = await peer(a);
    const uid = p.lines.map((l) => l.split(' ')).find((w) => w[1] === 'UID' && w[2] === 'alice');
    // ":1AA UID nick hops ts modes user host ip uid :realname"
    expect(uid!.join(' ')).toMatch(/^:1AA UID alice 1 \d+ \+\S* alice \S+ \S+ 1AA[A-Z][A-Z0-9]{5} :Test User$/);
    expect(uid![5]).not.toContain('B');
    expect(p.lines.some((l) => /^:\S+ EUID /.test(l))).toBe(false);
    expect(p.lines).toContain(`:${uid![9]} ENCAP * LOGIN alice`);
    const sjoin = p.lines.find((l) => / SJOIN \d+ #ours /.test(l));
    // Her % goes (no such prefix there), her @ stays; U goes.
    expect(sjoin).toMatch(new RegExp(` SJOIN \\d+ #ours \\+(?!.*U)[a-zA-Z]* :?@${uid![9]}$`));
    // Later changes are translated too: -h is not sent (their h would be nothing, or something else).
    alice.send('MODE #ours -h+m alice');
    await p.waitFor((m) => m.command === 'TMODE');
    expect(p.lines.find((l) => / TMODE /.test(l))).toMatch(/ TMODE \d+ #ours \+m$/);
  });

  it('takes UID with ENCAP REALHOST and LOGIN, and drops the mode letters it does not share, with their parameters', async () => {
    const a = await daemon();
    const p = await peer(a);
    p.send(`:9OL UID bob 1 ${now()} +iDZ bob spoof.host 0 9OLAAAAAA :Bob`);
    p.send(':9OLAAAAAA ENCAP * REALHOST real.host');
    p.send(':9OLAAAAAA ENCAP * LOGIN bobacct');
    // +j takes a parameter there, c and z are flags we do not have, q is their quiet list.
    p.send(':9OL SJOIN 1000 #theirs +ntjcz 3:10 :@9OLAAAAAA');
    p.send(':9OL BMASK 1000 #theirs q :quiet!*@*');
    p.send(':9OL TMODE 1000 #theirs +qvb quiet2!*@* 9OLAAAAAA ban!*@*');
    const state = a.server.state;
    await waitUntil(() => (state.findChannel('#theirs')?.lists.get('b')?.length ?? 0) > 0, 3000);
    const bob = state.findNick('bob')!;
    expect(bob.realHost).toBe('real.host');
    expect(bob.host).toBe('spoof.host');
    expect(bob.account).toBe('bobacct');
    expect([...bob.modes]).toEqual(['i']);
    const channel = state.findChannel('#theirs')!;
    expect([...channel.flags].sort()).toEqual(['n', 't']);
    expect(channel.members.get(bob)).toBe('ov');
    expect(channel.lists.get('q') ?? []).toEqual([]);
    expect(channel.lists.get('b')!.map((e) => e.mask)).toEqual(['ban!*@*']);
  });

  it('a collision with a peer without SAVE kills the loser; its KILL "<path> (<reason>)" is shown as the reason', async () => {
    const a = await daemon();
    const carol = await client(a.port, 'carol', { user: 'carol' });
    const dave = await client(a.port, 'dave');
    clients.push(carol, dave);
    const p = await peer(a);
    const daveUid = p.lines.map((l) => l.split(' ')).find((w) => w[1] === 'UID' && w[2] === 'dave')![9]!;
    // A younger carol of another user@host: she loses, and only the peer hears of it (KILL).
    p.send(`:9OL UID carol 1 ${now() + 5} +i other host.test 0 9OLAAAAAB :Carol 2`);
    const kill = await p.waitFor((m) => m.command === 'KILL');
    expect(kill.params).toEqual(['9OLAAAAAB', 'a.test (Nick collision)']);
    expect(carol.closed).toBe(false);
    // Their oper kills dave: the path names the oper, the reason is in parentheses.
    p.send(`:9OL KILL ${daveUid} :old.test!oper.host!op!theiroper (behave)`);
    await dave.waitClosed(3000);
    expect(dave.lines.some((l) => / KILL dave :theiroper \(behave\)$/.test(l))).toBe(true);
    expect(dave.lines.some((l) => /^ERROR :.*Killed \(theiroper \(behave\)\)/.test(l))).toBe(true);
  });

  it('bursts list modes as EBMASK to a peer that has it, and keeps the setter and time of those it sends', async () => {
    const a = await daemon();
    const alice = await client(a.port, 'alice');
    clients.push(alice);
    alice.send('JOIN #ours');
    await alice.waitFor('366');
    alice.send('MODE #ours +b troll!*@*');
    await alice.waitFor((m) => m.command === 'MODE' && m.params[1] === '+b');
    const p = await peer(a, 'QS EX IE ENCAP EUID EBMASK TB');
    expect(p.lines.find((l) => /^:1AA EBMASK /.test(l))).toMatch(/^:1AA EBMASK \d+ #ours b :troll!\*@\* \d+ alice!alice@127\.0\.0\.1$/);
    p.send(`:9OL EUID bob 1 ${now()} +i bob host.test 0 9OLAAAAAA * * :Bob`);
    p.send(':9OL SJOIN 1000 #theirs +nt :@9OLAAAAAA');
    p.send(':9OL EBMASK 1000 #theirs b :x!*@* 1234 setter!u@h y!*@* 1234 setter!u@h z!*@* 99 other.test');
    const channel = () => a.server.state.findChannel('#theirs');
    await waitUntil(() => (channel()?.lists.get('b')?.length ?? 0) === 3, 3000);
    expect(channel()!.lists.get('b')!.map((e) => [e.mask, e.setBy, e.setAt])).toEqual([
      ['x!*@*', 'setter!u@h', 1234],
      ['y!*@*', 'setter!u@h', 1234],
      ['z!*@*', 'other.test', 99],
    ]);
  });

  it('tells the certificate fingerprint of a user with a TLS client certificate (ENCAP CERTFP)', async () => {
    const a = await daemon(makeSelfSignedCert('a.test'));
    const mine = makeSelfSignedCert('erin');
    const erin = await TestClient.connectTls(a.tlsPort!, { cert: readFileSync(mine.cert), key: readFileSync(mine.key) });
    clients.push(erin);
    await erin.register('erin');
    const p = await peer(a);
    const fp = new X509Certificate(readFileSync(mine.cert)).fingerprint256.replace(/:/g, '').toLowerCase();
    const uid = p.lines.map((l) => l.split(' ')).find((w) => w[1] === 'UID' && w[2] === 'erin')![9]!;
    expect(p.lines).toContain(`:${uid} ENCAP * CERTFP ${fp}`);
  });

  it('sends INVITE toward the target with the channel TS, and takes one only for a channel as old as ours', async () => {
    const a = await daemon();
    const alice = await client(a.port, 'alice');
    clients.push(alice);
    alice.send('JOIN #closed');
    await alice.waitFor('366');
    alice.send('MODE #closed +i');
    await alice.waitFor((m) => m.command === 'MODE' && m.params[1] === '+i');
    const carol = await client(a.port, 'carol');
    clients.push(carol);
    const p = await peer(a);
    const carolUid = p.lines.map((l) => l.split(' ')).find((w) => w[1] === 'UID' && w[2] === 'carol')![9]!;
    const ts = Number(p.lines.map((l) => l.split(' ')).find((w) => w[1] === 'SJOIN' && w[3] === '#closed')![2]);
    p.send(`:9OL UID bob 1 ${now()} +i bob their.host 0 9OLAAAAAA :Bob`);
    await waitUntil(() => !!a.server.state.findNick('bob'), 3000);
    alice.send('INVITE bob #closed');
    expect((await p.waitFor('INVITE')).params).toEqual(['9OLAAAAAA', '#closed', String(ts)]);
    // Their user invites carol, once to a younger #closed (dropped), then to ours.
    p.send(`:9OLAAAAAA INVITE ${carolUid} #closed ${ts + 100}`);
    p.send(`:9OLAAAAAA INVITE ${carolUid} #closed ${ts}`);
    const invite = await carol.waitFor('INVITE');
    expect(invite.source).toMatch(/^bob!/);
    expect(invite.params).toEqual(['carol', '#closed']);
    expect(carol.lines.filter((l) => / INVITE carol /.test(l))).toHaveLength(1);
    // The network hears that it was delivered (invite-notify on the other servers), and carol gets past +i.
    expect((await p.waitFor((m) => m.command === 'ENCAP' && m.params[1] === 'INVITED')).params).toEqual(['*', 'INVITED', '9OLAAAAAA', carolUid, '#closed']);
    carol.send('JOIN #closed');
    await carol.waitFor('366');
  });

  it('refuses a peer without the capabilities TS6 requires', async () => {
    const a = await daemon();
    const p = await TestClient.connect(a.serverPort);
    clients.push(p);
    p.send(`PASS ${LINK_PASSWORD} TS 6 :9OL`);
    p.send('CAPAB :EX IE');
    const error = await p.waitFor('ERROR');
    expect(error.params[0]).toBe('Closing Link: Missing required capabilities: QS ENCAP');
  });
});
