// Module state slots: typed values per user, per channel and per server, independent of each
// other, and nothing allocated for an owner no module stored anything on.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ClassConfig } from '../../src/config/schema.js';
import { validateConfig } from '../../src/config/load.js';
import { allModules } from '../../src/modules/index.js';
import { bansOf } from '../../src/modules/bans.js';
import type { Connection } from '../../src/net/connection.js';
import { Channel } from '../../src/server/channel.js';
import { User } from '../../src/server/user.js';
import { Server } from '../../src/server/server.js';
import { channelSlot, NO_MODULE_STATE, serverSlot, userSlot } from '../../src/server/slots.js';
import { testConfig } from '../support/harness.js';

let connIds = 0;

function client(): User {
  const conn = { id: ++connIds, ip: '127.0.0.1' } as unknown as Connection;
  return User.connectedOn(conn, {} as ClassConfig, () => 'irc.test');
}

function unstarted(): Server {
  const config = validateConfig(testConfig(), '/tmp/slots-test.toml');
  return new Server(config, '/tmp/slots-test.toml', pino({ level: 'silent' }), allModules());
}

describe('user and channel slots', () => {
  it('keep a typed value per owner: get, set, delete, getOrCreate', () => {
    const lists = userSlot<Set<string>>();
    const a = client();
    const b = client();
    expect(lists.get(a)).toBeUndefined();
    const set = new Set(['x']);
    lists.set(a, set);
    expect(lists.get(a)).toBe(set);
    expect(lists.get(b)).toBeUndefined();
    expect(lists.getOrCreate(a, () => new Set())).toBe(set);
    const created = lists.getOrCreate(b, () => new Set(['y']));
    expect(lists.get(b)).toBe(created);
    expect(lists.delete(a)).toBe(set);
    expect(lists.get(a)).toBeUndefined();
    expect(lists.delete(a)).toBeUndefined();
    expect(lists.get(b)).toBe(created);
    const named = userSlot<string>();
    // @ts-expect-error a value of the wrong type does not compile
    named.set(a, 1);
    // @ts-expect-error undefined means absent, so a slot cannot be declared to hold it
    userSlot<string | undefined>();
  });

  it('are independent of each other, user slots of channel slots too', () => {
    const first = userSlot<string>();
    const second = userSlot<number>();
    const onChannel = channelSlot<string>();
    const c = client();
    const channel = new Channel('#c', '#c');
    first.set(c, 'one');
    second.set(c, 2);
    onChannel.set(channel, 'topic lock');
    expect(first.get(c)).toBe('one');
    expect(second.get(c)).toBe(2);
    first.delete(c);
    expect(first.get(c)).toBeUndefined();
    expect(second.get(c)).toBe(2);
    expect(onChannel.get(channel)).toBe('topic lock');
  });

  it('take a slot declared after the owner already holds values', () => {
    const early = userSlot<string>();
    const c = client();
    early.set(c, 'early');
    const late = userSlot<string>();
    late.set(c, 'late');
    expect(early.get(c)).toBe('early');
    expect(late.get(c)).toBe('late');
  });

  it('allocate nothing for an owner until a value is set on it', () => {
    const slot = userSlot<string>();
    const idle = client();
    const other = client();
    const channel = new Channel('#idle', '#idle');
    expect(idle.moduleState).toBe(NO_MODULE_STATE);
    expect(channel.moduleState).toBe(NO_MODULE_STATE);
    // Reading and deleting leave the shared empty state in place.
    expect(slot.get(idle)).toBeUndefined();
    expect(slot.delete(idle)).toBeUndefined();
    expect(idle.moduleState).toBe(NO_MODULE_STATE);
    slot.set(other, 'busy');
    expect(other.moduleState).not.toBe(NO_MODULE_STATE);
    expect(idle.moduleState).toBe(NO_MODULE_STATE);
    expect(NO_MODULE_STATE).toHaveLength(0);
  });
});

describe('server slots', () => {
  it('keep one value per server, and name the module when required before init', () => {
    const a = unstarted();
    const b = unstarted();
    const state = serverSlot<string>('example');
    state.set(a, 'for a');
    expect(state.require(a)).toBe('for a');
    expect(state.get(b)).toBeUndefined();
    expect(() => state.require(b)).toThrow('the example module was used before the server started it');
    expect(state.getOrCreate(b, () => 'for b')).toBe('for b');
    expect(state.getOrCreate(b, () => 'again')).toBe('for b');
    expect(state.delete(a)).toBe('for a');
    expect(state.delete(a)).toBeUndefined();
    expect(() => state.require(a)).toThrow(/example module/);
    expect(state.require(b)).toBe('for b');
  });

  it('are how modules and the server report a store that is not open', async () => {
    const server = unstarted();
    expect(() => server.db).toThrow('the store is opened by Server.start(), which has not run');
    expect(() => bansOf(server)).toThrow('the bans module was used before the server started it');
    await server.start();
    expect(bansOf(server).size).toBe(0);
    await server.stop('test over', 0);
    expect(() => bansOf(server)).toThrow(/bans module/);
  });
});
