// History entries are stored compactly (the wire line, tags only when they carry more than time and
// msgid); what a replay gets back must equal what was relayed.
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { HistoryStore } from '../../src/modules/history/store.js';
import { caseFolder } from '../../src/protocol/casemap.js';
import type { Channel } from '../../src/server/channel.js';
import type { User } from '../../src/server/user.js';
import { newMsgid, relay } from '../../src/server/outgoing.js';
import { State } from '../../src/server/state.js';

const cfg = validateConfig({ listen: [{ port: 0 }], class: [{ name: 'c' }], allow: [{ mask: '*', class: 'c' }] }, 'test');
const sender = (account?: string) => ({ id: 7, account, nick: 'alys', mask: 'alys!a@host', modes: new Set(), moduleState: [] }) as unknown as User;
const channel = {} as Channel;

describe('HistoryStore entries', () => {
  it('give back the relayed message and tags, with and without extra tags', () => {
    const store = new HistoryStore(cfg.history, new State(caseFolder('rfc1459')));
    const plain = relay(sender(), { source: 'alys!a@host', command: 'PRIVMSG', params: ['#c', 'hello there'] }, { msgid: newMsgid() });
    const tagged = relay(sender('Alys'), { source: 'alys!a@host', command: 'NOTICE', params: ['#c', ':-) colon first'] }, {
      msgid: newMsgid(),
      clientTags: { '+draft/react': 'x' },
    });
    store.recordChannel(channel, sender(), plain);
    store.recordChannel(channel, sender('Alys'), tagged);
    const [a, b] = store.ofChannel(channel)!.items;
    expect(a!.msg).toEqual({ source: 'alys!a@host', command: 'PRIVMSG', params: ['#c', 'hello there'] });
    expect(a!.tags).toEqual(plain.tags);
    expect(a!.at).toBe(Date.parse(plain.tags.time!));
    expect(b!.msg.params).toEqual(['#c', ':-) colon first']);
    expect(b!.tags).toEqual({ '+draft/react': 'x', time: tagged.tags.time, msgid: tagged.tags.msgid, account: 'Alys' });
    expect(b!.senderAccount).toBe('alys');
    expect(b!.command).toBe('NOTICE');
  });

  it('give back every tag kept, however many: 64 client-only tags and the account', () => {
    const store = new HistoryStore(cfg.history, new State(caseFolder('rfc1459')));
    const clientTags = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`+k${i}`, `${i}`]));
    const out = relay(sender('Alys'), { source: 'alys!a@host', command: 'TAGMSG', params: ['#c'] }, { msgid: newMsgid(), clientTags });
    store.recordChannel(channel, sender('Alys'), out);
    expect(store.ofChannel(channel)!.items[0]!.tags).toEqual(out.tags);
  });
});
