// IRCv3 metadata (draft/metadata-3): keys on users and channels, their limits and permissions,
// subscriptions, change notifications, the JOIN and registration syncs and WHOIS.
import { describe, expect, it } from 'vitest';
import { parseMessage, type Message } from '../../src/protocol/message.js';
import { TestClient, type RawConfig } from '../support/harness.js';
import { useSession } from '../support/session.js';

const s = useSession();
const CAPS = ['draft/metadata-3', 'batch'];

/** A message as "COMMAND param param ..." (tags left out). */
const text = (m: Message) => [m.command, ...m.params].join(' ');

async function ask(c: TestClient, line: string): Promise<string[]> {
  c.send(line);
  return (await c.collectUntilPong()).map(text);
}

/** Messages received since the client's cursor (the end of its last wait), up to a PING round trip. */
async function pendingMessages(c: TestClient): Promise<Message[]> {
  const from = c.cursor;
  const token = `p${from}`;
  c.send(`PING ${token}`);
  await c.waitFor((m) => m.command === 'PONG' && m.params[1] === token, { from });
  return c.lines.slice(from, c.cursor - 1).map(parseMessage);
}

async function pending(c: TestClient): Promise<string[]> {
  return (await pendingMessages(c)).map(text);
}

/** The capability tokens of a CAP LS 302 reply, continuation lines included. */
async function capLs(c: TestClient): Promise<string[]> {
  c.send('CAP LS 302');
  const from = c.mark;
  await c.waitFor((m) => m.command === 'CAP' && m.params[1] === 'LS' && m.params[2] !== '*');
  return c.lines.slice(from, c.cursor).flatMap((l) => parseMessage(l).params.at(-1)!.split(' '));
}

/** The replies to `line` with the BATCH lines around them removed, after checking they frame them all. */
async function askBatch(c: TestClient, line: string, type = 'metadata'): Promise<string[]> {
  c.send(line);
  const ms = await c.collectUntilPong();
  const open = ms[0]!;
  expect(open.command).toBe('BATCH');
  expect(open.params[1]).toBe(type);
  const ref = open.params[0]!.slice(1);
  expect(text(ms.at(-1)!)).toBe(`BATCH -${ref}`);
  const inner = ms.slice(1, -1);
  for (const m of inner) expect(m.tags?.batch).toBe(ref);
  return inner.map(text);
}

async function start(metadata: RawConfig = {}): Promise<void> {
  await s.start({ metadata });
}

const connect = (nick: string) => s.connect(nick, { caps: CAPS });

describe('METADATA on yourself', () => {
  it('advertises the capability with its limits, and before-connect only when enabled', async () => {
    await start({ max_keys: 7, max_value_bytes: 99, max_subscriptions: 5 });
    const c = await TestClient.connect(s.srv.port);
    expect(await capLs(c)).toContain('draft/metadata-3=before-connect,max-subs=5,max-keys=7,max-value-bytes=99');
    c.close();
    await s.srv.stop();

    await start({ before_connect: false });
    const d = await TestClient.connect(s.srv.port);
    expect(await capLs(d)).toContain('draft/metadata-3=max-subs=50,max-keys=20,max-value-bytes=300');
    d.send('CAP REQ :draft/metadata-3 batch');
    await d.waitFor('CAP');
    expect(await ask(d, 'METADATA * SET display-name :early')).toEqual(['451 * You have not registered']);
    d.close();
  });

  it('sets, gets, lists and removes keys, answering GET and LIST in metadata batches', async () => {
    await start();
    const a = await connect('alice');
    expect(await ask(a, 'METADATA * SET display-name :Alice A.')).toEqual(['761 alice alice display-name * Alice A.']);
    // The empty string is a value; leaving the value out removes the key.
    expect(await ask(a, 'METADATA alice SET status :')).toEqual(['761 alice alice status * ']);
    expect(await askBatch(a, 'METADATA * GET display-name avatar status')).toEqual([
      '761 alice alice display-name * Alice A.',
      '766 alice alice avatar Key not set',
      '761 alice alice status * ',
    ]);
    expect(await askBatch(a, 'METADATA * LIST')).toEqual(['761 alice alice display-name * Alice A.', '761 alice alice status * ']);
    expect(await ask(a, 'METADATA * SET status')).toEqual(['766 alice alice status Key not set']);
    expect(await ask(a, 'METADATA * SET status')).toEqual(['FAIL METADATA KEY_NOT_SET alice status Key not set']);
    expect(await askBatch(a, 'METADATA * CLEAR')).toEqual(['766 alice alice display-name Key not set']);
    expect(await askBatch(a, 'METADATA * LIST')).toEqual([]);
  });

  it('refuses bad keys, values over max_value_bytes, keys past max_keys, bad targets and subcommands', async () => {
    await start({ max_keys: 2, max_value_bytes: 8 });
    const a = await connect('alice');
    expect(await ask(a, 'METADATA * SET Display :x')).toEqual(['FAIL METADATA KEY_INVALID Display Invalid key']);
    expect(await ask(a, 'METADATA * SET :bad key')).toEqual(['FAIL METADATA KEY_INVALID * Invalid key']);
    expect(await ask(a, `METADATA * SET ${'k'.repeat(65)} :x`)).toEqual([`FAIL METADATA KEY_INVALID ${'k'.repeat(65)} Invalid key`]);
    // Bytes, not characters: four 2-byte letters fit, five do not.
    expect(await ask(a, 'METADATA * SET name :éééé')).toEqual(['761 alice alice name * éééé']);
    expect(await ask(a, 'METADATA * SET name :ééééé')).toEqual(['FAIL METADATA INVALID_VALUE name Value is longer than 8 bytes']);
    expect(await ask(a, 'METADATA * SET a.b/c_d-1 :ok')).toEqual(['761 alice alice a.b/c_d-1 * ok']);
    expect(await ask(a, 'METADATA * SET third :no')).toEqual(['FAIL METADATA LIMIT_REACHED alice Metadata limit reached']);
    // Replacing a key already held does not count against the limit.
    expect(await ask(a, 'METADATA * SET name :new')).toEqual(['761 alice alice name * new']);
    expect(await askBatch(a, 'METADATA * GET name $bad')).toEqual(['761 alice alice name * new', 'FAIL METADATA KEY_INVALID $bad Invalid key']);

    expect(await ask(a, 'METADATA nobody LIST')).toEqual(['FAIL METADATA INVALID_TARGET nobody Invalid metadata target']);
    expect(await ask(a, 'METADATA #nowhere GET x')).toEqual(['FAIL METADATA INVALID_TARGET #nowhere Invalid metadata target']);
    expect(await ask(a, 'METADATA * DESTROY')).toEqual(['FAIL METADATA SUBCOMMAND_INVALID DESTROY Invalid subcommand']);
    expect(await ask(a, 'METADATA * GET')).toEqual(['461 alice METADATA Not enough parameters']);
    expect(await ask(a, 'METADATA *')).toEqual(['461 alice METADATA Not enough parameters']);
  });

  it('lets nobody else set or clear your keys, while anyone may read them', async () => {
    await start();
    const a = await connect('alice');
    const b = await connect('bob');
    await ask(a, 'METADATA * SET avatar :https://example.net/a.png');
    expect(await ask(b, 'METADATA alice SET avatar :mine')).toEqual([
      "FAIL METADATA KEY_NO_PERMISSION alice avatar You do not have permission to set 'avatar' on 'alice'",
    ]);
    expect(await ask(b, 'METADATA alice CLEAR')).toEqual([
      "FAIL METADATA KEY_NO_PERMISSION alice * You do not have permission to clear 'alice'",
    ]);
    expect(await askBatch(b, 'METADATA ALICE GET avatar')).toEqual(['761 bob alice avatar * https://example.net/a.png']);
    expect(await pending(a)).toEqual([]);
  });

  it("keeps a user's keys on the connection: they end with it, not with the nick", async () => {
    await start();
    const a = await connect('alice');
    const b = await connect('bob');
    await ask(a, 'METADATA * SET avatar :x');
    a.send('QUIT');
    await a.waitClosed();
    const again = await connect('alice');
    expect(await askBatch(b, 'METADATA alice LIST')).toEqual([]);
    expect(await askBatch(again, 'METADATA * LIST')).toEqual([]);
  });

  it('sends replies bare to a client without batch, and nests the batch in a labeled response', async () => {
    await start();
    const bare = await s.connect('bare', { caps: ['draft/metadata-3'] });
    await ask(bare, 'METADATA * SET a :1');
    expect(await ask(bare, 'METADATA * GET a b')).toEqual(['761 bare bare a * 1', '766 bare bare b Key not set']);

    const l = await s.connect('lab', { caps: [...CAPS, 'labeled-response'] });
    l.send('@label=q1 METADATA * GET a');
    const ms = await l.collectUntilPong();
    expect(ms.map((m) => [m.tags?.label, m.tags?.batch, text(m)])).toEqual([
      ['q1', undefined, `BATCH ${ms[0]!.params[0]} labeled-response`],
      [undefined, ms[0]!.params[0]!.slice(1), `BATCH ${ms[1]!.params[0]} metadata lab`],
      [undefined, ms[1]!.params[0]!.slice(1), '766 lab lab a Key not set'],
      [undefined, ms[0]!.params[0]!.slice(1), `BATCH -${ms[1]!.params[0]!.slice(1)}`],
      [undefined, undefined, `BATCH -${ms[0]!.params[0]!.slice(1)}`],
    ]);
  });
});

describe('METADATA on channels', () => {
  it('lets operators set and clear, members read, and hides the keys from outsiders', async () => {
    await start();
    const op = await connect('op');
    const member = await connect('member');
    const outsider = await connect('outsider');
    op.send('JOIN #c');
    await op.waitFor('366');
    member.send('JOIN #c');
    await member.waitFor('366');
    await pending(op);

    expect(await ask(op, 'METADATA #C SET url :https://c.example')).toEqual(['761 op #c url * https://c.example']);
    expect(await ask(member, 'METADATA #c SET url :spam')).toEqual([
      "FAIL METADATA KEY_NO_PERMISSION #c url You do not have permission to set 'url' on '#c'",
    ]);
    expect(await ask(member, 'METADATA #c CLEAR')).toEqual(["FAIL METADATA KEY_NO_PERMISSION #c * You do not have permission to clear '#c'"]);
    expect(await askBatch(member, 'METADATA #c GET url')).toEqual(['761 member #c url * https://c.example']);
    for (const sub of ['GET url', 'LIST', 'SYNC'])
      expect(await ask(outsider, `METADATA #c ${sub}`)).toEqual(['FAIL METADATA KEY_NO_PERMISSION #c * You may not see this metadata']);
    // A secret channel does not exist for outsiders.
    await ask(op, 'MODE #c +s');
    expect(await ask(outsider, 'METADATA #c LIST')).toEqual(['FAIL METADATA INVALID_TARGET #c Invalid metadata target']);

    await ask(op, 'METADATA #c SET topic-url :x');
    expect(await askBatch(op, 'METADATA #c CLEAR')).toEqual(['766 op #c url Key not set', '766 op #c topic-url Key not set']);
    expect(await askBatch(member, 'METADATA #c LIST')).toEqual([]);
  });

  it('forgets the keys when the channel is destroyed', async () => {
    await start();
    const op = await connect('op');
    op.send('JOIN #c');
    await op.waitFor('366');
    await ask(op, 'METADATA #c SET url :https://c.example');
    await ask(op, 'PART #c');
    op.send('JOIN #c');
    await op.waitFor('366');
    expect(await askBatch(op, 'METADATA #c LIST')).toEqual([]);
  });
});

describe('METADATA subscriptions', () => {
  it('SUB, UNSUB and SUBS, with invalid keys reported and max_subscriptions enforced', async () => {
    await start({ max_subscriptions: 3 });
    const a = await connect('alice');
    expect(await ask(a, 'METADATA * SUB avatar display-name $bad avatar url status pronouns')).toEqual([
      '770 alice avatar display-name url',
      'FAIL METADATA KEY_INVALID $bad Invalid key',
      'FAIL METADATA TOO_MANY_SUBS status At most 3 subscriptions',
    ]);
    // Keys already held are acknowledged even at the limit.
    expect(await ask(a, 'METADATA * SUB url')).toEqual(['770 alice url']);
    expect(await askBatch(a, 'METADATA * SUBS', 'metadata-subs')).toEqual(['772 alice avatar display-name url']);
    expect(await ask(a, 'METADATA * UNSUB url never-had Bad')).toEqual(['771 alice url never-had', 'FAIL METADATA KEY_INVALID Bad Invalid key']);
    expect(await askBatch(a, 'METADATA alice SUBS', 'metadata-subs')).toEqual(['772 alice avatar display-name']);
    expect(await ask(a, 'METADATA bob SUB x')).toEqual([
      'FAIL METADATA INVALID_TARGET bob Subscriptions can only be managed for yourself (use *)',
    ]);
  });

  it('splits long key lists over several 770 lines of at most 14 keys', async () => {
    await start({ max_subscriptions: 100 });
    const a = await connect('alice');
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    const replies = await ask(a, `METADATA * SUB ${keys.join(' ')}`);
    expect(replies).toEqual([`770 alice ${keys.slice(0, 14).join(' ')}`, `770 alice ${keys.slice(14).join(' ')}`]);
  });

  it('notifies subscribed channel peers and watchers of a user change, and no one else', async () => {
    await start();
    const alice = await connect('alice');
    const peer = await connect('peer');
    const watcher = await connect('watcher');
    const stranger = await connect('stranger');
    const unsubscribed = await connect('unsub');
    for (const c of [alice, peer, unsubscribed]) {
      c.send('JOIN #c');
      await c.waitFor('366');
    }
    for (const c of [peer, watcher, stranger]) await ask(c, 'METADATA * SUB display-name');
    await ask(watcher, 'MONITOR + alice');
    for (const c of [alice, peer, unsubscribed]) await pending(c);

    expect(await ask(alice, 'METADATA * SET display-name :Al')).toEqual(['761 alice alice display-name * Al']);
    expect(await pending(peer)).toEqual(['761 * alice display-name * Al']);
    expect(await pending(watcher)).toEqual(['761 * alice display-name * Al']);
    expect(await pending(stranger)).toEqual([]);
    expect(await pending(unsubscribed)).toEqual([]);
    // Setting the same value again changes nothing, so nobody hears of it.
    await ask(alice, 'METADATA * SET display-name :Al');
    expect(await pending(peer)).toEqual([]);
    await ask(alice, 'METADATA * SET display-name');
    expect(await pending(peer)).toEqual(['766 * alice display-name Key not set']);
    // A key nobody subscribed to is not sent.
    await ask(alice, 'METADATA * SET avatar :x');
    expect(await pending(peer)).toEqual([]);
  });

  it('notifies subscribed members of a channel change, not outsiders', async () => {
    await start();
    const op = await connect('op');
    const member = await connect('member');
    const outsider = await connect('outsider');
    for (const c of [op, member]) {
      c.send('JOIN #c');
      await c.waitFor('366');
    }
    for (const c of [member, outsider]) await ask(c, 'METADATA * SUB url');
    await pending(op);
    await ask(op, 'METADATA #c SET url :https://c.example');
    expect(await pending(member)).toEqual(['761 * #c url * https://c.example']);
    expect(await pending(outsider)).toEqual([]);
    await askBatch(op, 'METADATA #c CLEAR');
    expect(await pending(member)).toEqual(['766 * #c url Key not set']);
  });
});

describe('METADATA syncs', () => {
  it('JOIN sends the subscribed keys of the channel and its members; members learn the joiner\'s keys', async () => {
    await start();
    const op = await connect('op');
    const bob = await connect('bob');
    op.send('JOIN #c');
    await op.waitFor('366');
    await ask(op, 'METADATA #c SET url :https://c.example');
    await ask(op, 'METADATA * SET display-name :The Op');
    await ask(op, 'METADATA * SUB display-name');
    await ask(bob, 'METADATA * SUB display-name url');
    await ask(bob, 'METADATA * SET display-name :Bobby');

    bob.send('JOIN #c');
    await bob.waitFor('366');
    const afterNames = await pendingMessages(bob);
    const open = afterNames[0]!;
    expect(text(open)).toBe(`BATCH ${open.params[0]} metadata #c`);
    expect(afterNames.slice(1, -1).map(text)).toEqual(['761 bob #c url * https://c.example', '761 bob op display-name * The Op']);
    expect(await pending(op)).toContain('761 * bob display-name * Bobby');

    expect(await askBatch(bob, 'METADATA #c SYNC')).toEqual(['761 bob #c url * https://c.example', '761 bob op display-name * The Op']);
    expect(await askBatch(bob, 'METADATA op SYNC')).toEqual(['761 bob op display-name * The Op']);
  });

  it('answers a JOIN with 774 when the sync would exceed join_sync_lines', async () => {
    await start({ join_sync_lines: 1 });
    const op = await connect('op');
    const bob = await connect('bob');
    op.send('JOIN #c');
    await op.waitFor('366');
    await ask(op, 'METADATA #c SET url :u');
    await ask(op, 'METADATA * SET display-name :d');
    await ask(bob, 'METADATA * SUB display-name url');
    bob.send('JOIN #c');
    await bob.waitFor('366');
    expect(await pending(bob)).toEqual(['774 bob #c']);
    expect(await askBatch(bob, 'METADATA #c SYNC')).toHaveLength(2);
  });

  it('before-connect: keys set while registering come back in a batch before the MOTD', async () => {
    await start();
    const c = await TestClient.connect(s.srv.port);
    c.send('CAP LS 302');
    c.send('CAP REQ :draft/metadata-3 batch');
    await c.waitFor((m) => m.command === 'CAP' && m.params[1] === 'ACK');
    expect(await ask(c, 'METADATA * SET display-name :Early Bird')).toEqual(['761 * * display-name * Early Bird']);
    expect(await ask(c, 'METADATA * SUB avatar')).toEqual(['770 * avatar']);
    expect(await ask(c, 'METADATA someone GET avatar')).toEqual(['FAIL METADATA INVALID_TARGET someone Invalid metadata target']);
    c.send('NICK early');
    c.send('USER early 0 * :Early');
    c.send('CAP END');
    await c.waitFor('376');
    const burst = c.lines.map((l) => l.split(' '));
    const open = burst.findIndex((w) => w[1] === 'BATCH' && w[3] === 'metadata');
    expect(burst[open]![4]).toBe('early');
    expect(c.lines[open + 1]).toMatch(/ 761 early early display-name \* :Early Bird$/);
    expect(burst[open + 2]![1]).toBe('BATCH');
    expect(open).toBeLessThan(burst.findIndex((w) => w[1] === '375'));
    expect(await askBatch(c, 'METADATA * SUBS', 'metadata-subs')).toEqual(['772 early avatar']);

    // A client that registers with the capability but no keys gets an empty batch.
    const d = await connect('plain');
    const i = d.lines.findIndex((l) => / BATCH \+\S+ metadata plain$/.test(l));
    expect(d.lines[i + 1]).toMatch(/ BATCH -/);
  });

  it('WHOIS shows each key (760) to viewers holding the capability', async () => {
    await start();
    const a = await connect('alice');
    const b = await connect('bob');
    const old = await s.connect('old');
    await ask(a, 'METADATA * SET display-name :Alice');
    const replies = await ask(b, 'WHOIS alice');
    expect(replies.filter((r) => r.startsWith('760 '))).toEqual(['760 bob alice display-name * Alice']);
    expect(replies.at(-1)).toMatch(/^318 /);
    expect((await ask(old, 'WHOIS alice')).filter((r) => r.startsWith('760 '))).toEqual([]);
  });
});
