// The registered-channel tables (store/channels.ts) on an in-memory SQLite store: what is written
// comes back the same, renames and drops carry the access list and lists with them, and an
// account's deletion takes its access entries.
import { describe, expect, it } from 'vitest';
import { makeCredentials } from '../../src/auth/scram.js';
import { caseFolder } from '../../src/protocol/casemap.js';
import { AccountStore } from '../../src/store/accounts.js';
import { ChannelRegistry, type KeptModes } from '../../src/store/channels.js';
import { checkTables, openStore } from '../../src/store/db.js';

async function stores() {
  const db = openStore(':memory:');
  const accounts = new AccountStore(db, caseFolder('rfc1459'));
  const registry = new ChannelRegistry(db);
  checkTables(db);
  const credentials = await makeCredentials('password', 4096);
  for (const name of ['alice', 'bob', 'carol']) accounts.create(name, credentials, undefined);
  return { db, accounts, registry };
}

const modes = (over: Partial<KeptModes> = {}): KeptModes => ({
  flags: 'nt',
  key: 'door',
  limit: 10,
  forward: '#overflow',
  lists: new Map([
    ['b', [{ mask: 'z!*@*', setBy: 'alice', setAt: 2 }, { mask: 'a!*@*', setBy: 'alice', setAt: 1 }]],
    ['I', [{ mask: '*!*@friend', setBy: 'alice', setAt: 3 }]],
  ]),
  ...over,
});

describe('ChannelRegistry', () => {
  it('gives back a registration as written, list entries in the order they were set', async () => {
    const { registry } = await stores();
    const topic = { text: 'hello', setBy: 'alice!a@h', setAt: 5 };
    registry.register('#chan', { name: '#Chan', founder: 'alice', registeredAt: 7, topic, ...modes() });
    expect(registry.get('#chan')).toEqual({ name: '#Chan', founder: 'alice', registeredAt: 7, topic, ...modes() });
    expect([registry.has('#chan'), registry.nameOf('#chan'), registry.get('#chan')?.founder, registry.count()]).toEqual([true, '#Chan', 'alice', 1]);
    registry.saveModes('#chan', modes({ flags: 'm', key: undefined, limit: undefined, forward: undefined, lists: new Map() }));
    registry.saveTopic('#chan', undefined);
    expect(registry.get('#chan')).toMatchObject({ flags: 'm', key: undefined, limit: undefined, forward: undefined, lists: new Map(), topic: undefined });
    expect(registry.get('#other')).toBeUndefined();
  });

  it('keeps the access list by account; the founder has no entry; a dropped account leaves every list', async () => {
    const { registry, accounts } = await stores();
    registry.register('#chan', { name: '#chan', founder: 'alice', registeredAt: 1, topic: undefined, ...modes() });
    registry.setAccess('#chan', { account: 'bob', mode: 'v', setBy: 'alice', setAt: 1 });
    // What joining gives: the founder o, an entry its letter, anyone else and any other channel nothing.
    expect(['alice', 'bob', 'carol'].map((a) => registry.joinModeOf('#chan', a))).toEqual(['o', 'v', undefined]);
    expect(registry.joinModeOf('#other', 'alice')).toBeUndefined();
    registry.setAccess('#chan', { account: 'carol', mode: 'o', setBy: 'alice', setAt: 2 });
    registry.setAccess('#chan', { account: 'bob', mode: 'o', setBy: 'alice', setAt: 3 });
    expect(registry.access('#chan').map((e) => [e.account, e.mode])).toEqual([['carol', 'o'], ['bob', 'o']]);
    registry.setFounder('#chan', 'carol');
    expect([registry.get('#chan')?.founder, registry.accessOf('#chan', 'carol'), registry.accessCount('#chan')]).toEqual(['carol', undefined, 1]);
    expect(registry.foundedBy('carol')).toEqual(['#chan']);
    accounts.drop('bob');
    expect(registry.access('#chan')).toEqual([]);
    expect(registry.removeAccess('#chan', 'bob')).toBe(false);
  });

  it('renames with the access list and lists, refuses a registered name, and drops everything', async () => {
    const { registry, db } = await stores();
    registry.register('#old', { name: '#old', founder: 'alice', registeredAt: 1, topic: undefined, ...modes() });
    registry.register('#taken', { name: '#taken', founder: 'alice', registeredAt: 1, topic: undefined, ...modes() });
    registry.setAccess('#old', { account: 'bob', mode: 'v', setBy: 'alice', setAt: 1 });
    expect(registry.rename('#old', '#taken', '#taken')).toBe(false);
    expect(registry.rename('#old', '#new', '#New')).toBe(true);
    expect(registry.get('#new')).toMatchObject({ name: '#New', lists: modes().lists });
    expect(registry.accessOf('#new', 'bob')).toBe('v');
    expect(registry.drop('#new')).toBe(true);
    expect(registry.drop('#new')).toBe(false);
    const left = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table} WHERE channel IN ('#old', '#new')`).get() as { n: number }).n;
    expect([left('channel_access'), left('channel_list_entries')]).toEqual([0, 0]);
  });
});
