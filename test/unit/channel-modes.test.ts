import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyModeChanges,
  formatModeChanges,
  parseModeString,
  validKey,
  type ApplyContext,
} from '../../src/modules/channels/modeparse.js';
import { caseFolder, rfc1459Fold } from '../../src/protocol/casemap.js';
import { PrefixTable, type ModeChange } from '../../src/server/channel.js';
import type { User } from '../../src/server/user.js';
import { State } from '../../src/server/state.js';

const fakeClient = (nick: string) => ({ nick }) as User;

function setup(prefixSpec = '(ov)@+', listLimit = 5) {
  const prefixes = new PrefixTable(prefixSpec);
  const state = new State(caseFolder('rfc1459'));
  const { channel } = state.getOrCreateChannel('#c');
  const clients = ['op', 'bob', 'carol', 'out'].map(fakeClient);
  const [op, bob, carol] = clients as [User, User, User];
  state.addMember(channel, op, 'o');
  state.addMember(channel, bob, '');
  state.addMember(channel, carol, '');
  const ctx: Omit<ApplyContext, 'writes'> = {
    fold: rfc1459Fold,
    prefixes,
    setterHeld: 'o',
    findNick: (nick) => clients.find((c) => rfc1459Fold(c.nick) === rfc1459Fold(nick)),
    listLimit,
    setBy: 'op!op@host',
    now: 1,
    forwardTarget: (name: string) => (name === '#other' ? { name: '#Other' } : name === '#c' ? { name } : { code: '403', params: [name, 'No such channel'] }),
  };
  /** Applies changes as the MODE command does: through State, which announces them at the end. */
  const apply = (changes: readonly ModeChange[], over: Partial<ApplyContext> = {}) =>
    state.changeChannelModes(channel, undefined, (writes) => applyModeChanges(channel, changes, { ...ctx, ...over, writes }));
  return { channel, apply, prefixes, op, bob };
}

describe('parseModeString', () => {
  it('pairs parameters with the modes that take them', () => {
    expect(parseModeString('ov', ['+o-v+lk', 'a', 'b', '5', 'key'], 6).changes).toEqual([
      { add: true, mode: 'o', param: 'a' },
      { add: false, mode: 'v', param: 'b' },
      { add: true, mode: 'l', param: '5' },
      { add: true, mode: 'k', param: 'key' },
    ]);
  });
  it('treats a list mode without parameter as a query, -l and -k without one as removals', () => {
    expect(parseModeString('ov', ['b-lk'], 6).changes).toEqual([
      { add: true, mode: 'b' },
      { add: false, mode: 'l' },
      { add: false, mode: 'k' },
    ]);
  });
  it('reports unknown letters once and drops parameter modes past the limit', () => {
    const r = parseModeString('ov', ['+XXbbbY', 'a', 'b', 'c'], 2);
    expect(r.unknown).toEqual(['X', 'Y']);
    expect(r.changes.map((c) => c.param)).toEqual(['a', 'b']);
  });
});

describe('applyModeChanges', () => {
  it('sets +f to a target the context allows, not to another or the channel itself, and clears it with -f', () => {
    const { channel, apply } = setup();
    const parsed = parseModeString('ov', ['+fff', '#nowhere', '#c', '#other'], 6);
    const r = apply(parsed.changes);
    expect(r.applied).toEqual([{ add: true, mode: 'f', param: '#Other' }]);
    expect(r.errors.map((e) => e.code)).toEqual(['403', '696']);
    expect(channel.forward).toBe('#Other');
    const cleared = apply(parseModeString('ov', ['-f'], 6).changes);
    expect(cleared.applied).toEqual([{ add: false, mode: 'f' }]);
    expect(channel.forward).toBeUndefined();
  });

  it('normalises masks and formats one line', () => {
    const { apply } = setup();
    const r = apply(parseModeString('ov', ['+bo-o', 'x', 'bob', 'bob'], 6).changes);
    expect(formatModeChanges(r.applied)).toEqual(['+bo-o', 'x!*@*', 'bob', 'bob']);
  });
  it('refuses non-operators once with 482', () => {
    const { apply } = setup();
    const r = apply(parseModeString('ov', ['+imb', 'x'], 6).changes, { setterHeld: '' });
    expect(r.applied).toEqual([]);
    expect(r.errors.map((e) => e.code)).toEqual(['482']);
  });
  it('validates keys', () => {
    expect(validKey('secret')).toBe(true);
    for (const bad of ['', 'a b', 'a,b', 'x'.repeat(24), 'tab\t']) expect(validKey(bad)).toBe(false);
  });
});

const letters = fc.constantFrom(...'+-+-beIklimnpstovqahxZ');
const params = fc.oneof(
  fc.constantFrom('op', 'bob', 'BOB', 'carol', 'out', 'ghost', '0', '-1', '5', '99999999999', '*', 'a,b', '', 'key', 'x!y@z', '$a', '$a:acct'),
  fc.string({ maxLength: 12 }),
);

describe('mode parser properties', () => {
  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 8 }), fc.integer({ min: 1, max: 10 }), (args, max) => {
        parseModeString('qaohv', args, max);
      }),
    );
  });

  it('never leaves a channel in an invalid state', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('(ov)@+', '(qaohv)~!@%+'),
        fc.constantFrom('o', 'h', 'v', 'q', ''),
        fc.array(fc.tuple(fc.string({ unit: letters, maxLength: 10 }), fc.array(params, { maxLength: 6 })), { maxLength: 6 }),
        (spec, setterHeld, commands) => {
          const { channel, apply, prefixes } = setup(spec, 4);
          const members = new Set(channel.members.keys());
          for (const [modeString, args] of commands) {
            const parsed = parseModeString(prefixes.modes, [modeString, ...args], 4);
            const r = apply(parsed.changes, { setterHeld });
            expect(r.applied.filter((c) => c.param !== undefined).length).toBeLessThanOrEqual(4);
            expect(!(channel.flags.has('s') && channel.flags.has('p'))).toBe(true);
            if (channel.limit !== undefined) expect(Number.isInteger(channel.limit) && channel.limit >= 1).toBe(true);
            if (channel.key !== undefined) expect(validKey(channel.key)).toBe(true);
            expect(new Set(channel.members.keys())).toEqual(members);
            for (const held of channel.members.values()) {
              expect([...held].every((m) => prefixes.modes.includes(m))).toBe(true);
              expect(new Set(held).size).toBe(held.length);
              expect(prefixes.sort(held)).toBe(held);
            }
            const entries = [...channel.lists.values()].flat();
            expect(entries.length).toBeLessThanOrEqual(4);
            for (const list of channel.lists.values()) {
              const folded = list.map((e) => rfc1459Fold(e.mask));
              expect(new Set(folded).size).toBe(folded.length);
              // Extended bans ($a:account) are kept as given; everything else is nick!user@host.
              for (const e of list) expect(e.mask).toMatch(/^(\$.*|[^!@]*![^!@]*@.*)$/);
            }
          }
        },
      ),
    );
  });
});

describe('PrefixTable.holdsRank (the channel-operator check)', () => {
  it('counts the highest prefix held against op or halfop', () => {
    const all = new PrefixTable('(qaohv)~&@%+');
    expect(all.holdsRank('o', 'op')).toBe(true);
    expect(all.holdsRank('qv', 'op')).toBe(true);
    expect(all.holdsRank('hv', 'op')).toBe(false);
    expect(all.holdsRank('h', 'halfop')).toBe(true);
    expect(all.holdsRank('v', 'halfop')).toBe(false);
    expect(all.holdsRank('', 'halfop')).toBe(false);
    expect(all.holdsRank(undefined, 'op')).toBe(false);
  });

  it('asks for op where halfop is not configured', () => {
    const plain = new PrefixTable('(ov)@+');
    expect(plain.holdsRank('o', 'halfop')).toBe(true);
    expect(plain.holdsRank('v', 'halfop')).toBe(false);
  });
});
