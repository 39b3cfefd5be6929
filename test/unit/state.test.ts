// The state store: its indexes (nicks, channels, memberships, modes, accounts, MONITOR watchers)
// and the one event each change announces.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { caseFolder } from '../../src/protocol/casemap.js';
import type { User } from '../../src/server/user.js';
import { State } from '../../src/server/state.js';
import type { StateEventName, StateEvents } from '../../src/server/state-events.js';

// A record, so the compiler says when an event is missing here.
const EVENTS: Record<StateEventName, true> = {
  userIntroduced: true,
  nickChanged: true,
  userQuit: true,
  userModeChanged: true,
  accountChanged: true,
  awayChanged: true,
  realnameChanged: true,
  hostChanged: true,
  channelCreated: true,
  channelDestroyed: true,
  channelRenamed: true,
  joined: true,
  parted: true,
  kicked: true,
  topicChanged: true,
  channelModeChanged: true,
  serverLinked: true,
  serverSplit: true,
};
const EVENT_NAMES = Object.keys(EVENTS) as StateEventName[];

const fakeClient = (id = 0) =>
  ({ id, nick: '*', nickKey: '', registered: false, modes: new Set(), account: undefined, away: undefined, user: 'u', host: 'host' }) as unknown as User;

/** A state whose every event is recorded, by name, in order. */
function recordedState(casemapping: 'ascii' | 'rfc1459' = 'rfc1459') {
  const state = new State(caseFolder(casemapping));
  const seen: Array<{ name: StateEventName; payload: StateEvents[StateEventName] }> = [];
  for (const name of EVENT_NAMES) state.events.on(name, (payload) => seen.push({ name, payload }));
  const take = () => seen.splice(0).map((e) => e.name);
  return { state, seen, take };
}

function introduced(state: State, nick: string, id = 0): User {
  const c = fakeClient(id);
  state.addClient(c);
  state.setNick(c, nick);
  state.introduceUser(c);
  return c;
}

describe('State account index', () => {
  it('follows logins, logouts and account changes, casefolded', () => {
    const state = new State(caseFolder('rfc1459'));
    const [a, b] = [fakeClient(), fakeClient()];
    state.setAccount(a, 'Alys[1]');
    state.setAccount(b, 'alys{1}');
    expect([...state.withAccount('ALYS{1}')]).toEqual([a, b]);
    state.setAccount(a, 'other');
    expect([...state.withAccount('alys[1]')]).toEqual([b]);
    expect([...state.withAccount('Other')]).toEqual([a]);
    state.setAccount(a, undefined);
    expect(a.account).toBeUndefined();
    expect([...state.withAccount('other')]).toEqual([]);
  });

  it('forgets a departing client but leaves its account field for those who hear of the quit', () => {
    const state = new State(caseFolder('ascii'));
    const a = introduced(state, 'a');
    state.setAccount(a, 'alys');
    let accountAtQuit: string | undefined;
    state.events.on('userQuit', ({ client }) => (accountAtQuit = client.account));
    state.removeClient(a, 'bye');
    expect(accountAtQuit).toBe('alys');
    expect(state.withAccount('alys').size).toBe(0);
  });
});

describe('State MONITOR index', () => {
  it('finds the watchers of a nick in any case until they unwatch it', () => {
    const state = new State(caseFolder('rfc1459'));
    const [a, b] = [fakeClient(), fakeClient()];
    state.watch(state.fold('Nick[1]'), a);
    state.watch(state.fold('nick{1}'), b);
    expect([...state.watchersOf('NICK{1}')]).toEqual([a, b]);
    state.unwatch(state.fold('nick[1]'), a);
    expect([...state.watchersOf('nick{1}')]).toEqual([b]);
    state.unwatch(state.fold('nick[1]'), b);
    expect(state.watchersOf('nick{1}').size).toBe(0);
  });
});

describe('State events', () => {
  it('announces each change of a user once, after the indexes changed', () => {
    const { state, seen, take } = recordedState();
    const a = fakeClient();
    state.addClient(a);
    expect(take()).toEqual([]);
    state.events.on('nickChanged', ({ client }) => expect(state.findNick('ALICE')).toBe(client));
    state.setNick(a, 'alice');
    expect(seen[0]!.payload).toEqual({ client: a, oldNick: '*' });
    expect(take()).toEqual(['nickChanged']);
    state.introduceUser(a);
    expect(take()).toEqual(['userIntroduced']);
    expect(state.registeredCount).toBe(1);
    state.setUserMode(a, 'i', true);
    state.setUserMode(a, 'i', true);
    expect(take()).toEqual(['userModeChanged']);
    state.setAccount(a, 'alys');
    state.setAccount(a, 'alys');
    expect(seen[0]!.payload).toEqual({ client: a, oldAccount: undefined });
    expect(take()).toEqual(['accountChanged']);
    state.setAway(a, 'gone');
    state.setAway(a, 'gone');
    expect(take()).toEqual(['awayChanged']);
    state.setRealname(a, 'Alys');
    state.setRealname(a, 'Alys');
    expect(take()).toEqual(['realnameChanged']);
    state.setHost(a, 'cloak');
    expect(seen[0]!.payload).toEqual({ client: a, oldUser: 'u', oldHost: 'host' });
    expect(take()).toEqual(['hostChanged']);
    state.setHost(a, 'cloak', 'ident');
    state.setHost(a, 'cloak', 'ident');
    expect(seen[0]!.payload).toEqual({ client: a, oldUser: 'u', oldHost: 'cloak' });
    expect([a.user, a.host]).toEqual(['ident', 'cloak']);
    expect(take()).toEqual(['hostChanged']);
  });

  it('announces channel creation, joins, topic changes, renames, parts, kicks and destruction', () => {
    const { state, seen, take } = recordedState();
    const [a, b] = [introduced(state, 'a', 1), introduced(state, 'b', 2)];
    take();
    const { channel } = state.getOrCreateChannel('#Chan', ['n', 't']);
    expect(state.getOrCreateChannel('#chan', ['m']).created).toBe(false);
    expect([...channel.flags]).toEqual(['n', 't']);
    expect(take()).toEqual(['channelCreated']);
    state.addMember(channel, a, 'o');
    state.addMember(channel, b, '');
    expect(take()).toEqual(['joined', 'joined']);
    state.setTopic(channel, { text: 'hi', setBy: 'a', setAt: 1 }, a);
    expect(seen[0]!.payload).toEqual({ channel, by: a });
    expect(take()).toEqual(['topicChanged']);
    state.renameChannel(channel, '#new', a, 'tidy');
    expect(state.findChannel('#chan')).toBeUndefined();
    expect(state.findChannel('#NEW')).toBe(channel);
    expect(seen[0]!.payload).toEqual({ channel, oldName: '#Chan', by: a, reason: 'tidy' });
    expect(take()).toEqual(['channelRenamed']);
    state.kick(channel, b, a, 'out');
    expect(seen[0]!.payload).toEqual({ channel, client: b, prefixes: '', by: a, reason: 'out' });
    expect(take()).toEqual(['kicked']);
    state.events.on('channelDestroyed', () => expect(state.findChannel('#new')).toBeUndefined());
    state.part(channel, a, 'bye');
    expect(seen[0]!.payload).toEqual({ channel, client: a, prefixes: 'o', reason: 'bye' });
    expect(take()).toEqual(['parted', 'channelDestroyed']);
  });

  it('discards a channel without members (announcing its destruction), and leaves one with members alone', () => {
    const { state, take } = recordedState();
    const a = introduced(state, 'a', 1);
    const { channel: empty } = state.getOrCreateChannel('#empty');
    const { channel: used } = state.getOrCreateChannel('#used');
    state.addMember(used, a, '');
    take();
    state.discardChannel(used);
    expect(take()).toEqual([]);
    expect(state.findChannel('#used')).toBe(used);
    state.discardChannel(empty);
    expect(take()).toEqual(['channelDestroyed']);
    expect(state.findChannel('#empty')).toBeUndefined();
    state.discardChannel(empty); // no longer in the index: nothing to announce
    expect(take()).toEqual([]);
  });

  it("announces one command's channel mode changes as one event, after all of them applied", () => {
    const { state, seen, take } = recordedState();
    const a = introduced(state, 'a', 1);
    const { channel } = state.getOrCreateChannel('#c');
    state.addMember(channel, a, '');
    take();
    state.events.on('channelModeChanged', () => expect([channel.key, channel.limit, channel.members.get(a)]).toEqual(['secret', 5, 'o']));
    const result = state.changeChannelModes(channel, a, (w) => {
      w.setChannelFlag(channel, 'm', true);
      w.setChannelKey(channel, 'secret');
      w.setChannelLimit(channel, 5);
      w.addListEntry(channel, 'b', { mask: 'x!*@*', setBy: 'op', setAt: 1 });
      w.addListEntry(channel, 'b', { mask: 'y!*@*', setBy: 'op', setAt: 2 });
      w.removeListEntry(channel, 'b', 0);
      w.setMemberPrefixes(channel, a, 'o');
      return { applied: [{ add: true, mode: 'm' }, { add: true, mode: 'o', param: 'a' }] };
    });
    expect(channel.list('b').map((e) => e.mask)).toEqual(['y!*@*']);
    expect(seen[0]!.payload).toEqual({ channel, by: a, changes: result.applied });
    expect(take()).toEqual(['channelModeChanged']);
    // Nothing applied (every change refused or already so): nothing announced.
    state.changeChannelModes(channel, undefined, () => ({ applied: [] }));
    expect(take()).toEqual([]);
  });

  it('keeps the server tree: a split takes the servers behind it and their users, each quitting first', () => {
    const { state, seen, take } = recordedState();
    expect(state.me.name).toBe('irc.local');
    const hub = state.linkServer({ name: 'hub.example', sid: '1HB', description: 'hub' }, state.me);
    const leaf = state.linkServer({ name: 'Leaf.example', sid: '2LF', description: 'leaf' }, hub);
    const other = state.linkServer({ name: 'other.example', description: 'other' }, state.me);
    expect(seen.map((e) => e.payload)).toEqual([{ server: hub }, { server: leaf }, { server: other }]);
    expect(take()).toEqual(['serverLinked', 'serverLinked', 'serverLinked']);
    expect([hub.hops, leaf.hops, state.findServer('leaf.EXAMPLE')]).toEqual([1, 2, leaf]);
    const local = introduced(state, 'local', 1);
    const onLeaf = fakeClient(2);
    state.addClient(onLeaf, leaf);
    state.setNick(onLeaf, 'remote');
    state.introduceUser(onLeaf);
    const onOther = fakeClient(3);
    state.addClient(onOther, other);
    state.setNick(onOther, 'far');
    state.introduceUser(onOther);
    expect([state.serverOf(local), state.serverOf(onLeaf)]).toEqual([state.me, leaf]);
    const { channel } = state.getOrCreateChannel('#c');
    state.addMember(channel, local, '');
    state.addMember(channel, onLeaf, '');
    take();
    state.splitServer(hub);
    expect(seen[0]!.payload).toEqual({ client: onLeaf, reason: 'irc.local hub.example', channels: new Map([[channel, '']]), home: leaf });
    expect(seen[1]!.payload).toEqual({ server: hub, reason: 'irc.local hub.example', servers: [hub, leaf] });
    expect(take()).toEqual(['userQuit', 'serverSplit']);
    expect([...state.servers.values()]).toEqual([state.me, other]);
    expect(state.findNick('remote')).toBeUndefined();
    expect(new Set(state.clients)).toEqual(new Set([local, onOther]));
    expect([...channel.members.keys()]).toEqual([local]);
    expect(() => state.splitServer(state.me)).toThrow();
  });

  it('announces a quit once, with the channels it left, and the channels it emptied', () => {
    const { state, seen, take } = recordedState();
    const [a, b] = [introduced(state, 'a', 1), introduced(state, 'b', 2)];
    const shared = state.getOrCreateChannel('#shared').channel;
    const alone = state.getOrCreateChannel('#alone').channel;
    state.addMember(shared, a, '');
    state.addMember(shared, b, '');
    state.addMember(alone, a, 'o');
    take();
    state.removeClient(a, 'Quit: bye');
    expect(seen[0]!.payload).toEqual({ client: a, reason: 'Quit: bye', channels: new Map([[shared, ''], [alone, 'o']]), home: state.me });
    expect(take()).toEqual(['userQuit', 'channelDestroyed']);
    expect(state.findNick('a')).toBeUndefined();
    expect([...shared.members.keys()]).toEqual([b]);
    expect(state.registeredCount).toBe(1);
    expect(state.maxRegistered).toBe(2);
  });

  it('removes a client that never registered without a quit event', () => {
    const { state, take } = recordedState();
    const a = fakeClient();
    state.addClient(a);
    state.setNick(a, 'a');
    take();
    state.removeClient(a, 'gone');
    expect(take()).toEqual([]);
    expect(state.clients.size).toBe(0);
    expect(state.nicks.size).toBe(0);
  });

  it('runs every subscriber when one throws, and reports the failure', () => {
    const failures: Array<[StateEventName, unknown]> = [];
    const state = new State(caseFolder('ascii'), (event, err) => failures.push([event, err]));
    const heard: string[] = [];
    const boom = new Error('boom');
    state.events.on('nickChanged', () => heard.push('first'));
    state.events.on('nickChanged', () => {
      throw boom;
    });
    state.events.on('nickChanged', () => heard.push('third'));
    state.setNick(fakeClient(), 'x');
    expect(heard).toEqual(['first', 'third']);
    expect(failures).toEqual([['nickChanged', boom]]);
  });

  it('lets a session of a multiclient user give up its own nick and login without an event', () => {
    const { state, take } = recordedState();
    const s = fakeClient();
    state.addClient(s);
    state.setNick(s, 'pending');
    state.setAccount(s, 'alys');
    take();
    state.becomeSession(s);
    expect(take()).toEqual([]);
    expect(state.findNick('pending')).toBeUndefined();
    expect(state.withAccount('alys').size).toBe(0);
    expect(state.clients.has(s)).toBe(false);
  });
});

// ---- model-based: random operations on State and on a plain model must agree ------------------

type Op =
  | { kind: 'join'; c: number; ch: string }
  | { kind: 'part'; c: number; ch: string }
  | { kind: 'kick'; c: number; ch: string }
  | { kind: 'nick'; c: number; nick: string }
  | { kind: 'quit'; c: number }
  | { kind: 'umode'; c: number; letter: string; on: boolean }
  | { kind: 'prefix'; c: number; ch: string; prefixes: string }
  | { kind: 'account'; c: number; account: string | undefined }
  | { kind: 'watch'; c: number; nick: string; on: boolean };

const CLIENTS = 4;
const clientArb = fc.integer({ min: 0, max: CLIENTS - 1 });
// Names differing in case only, and [ vs {, which rfc1459 folds together.
const nickArb = fc.constantFrom('a', 'A', 'b[', 'B{', 'c', 'dd');
const chanArb = fc.constantFrom('#x', '#X', '#y[', '#Y{', '#z');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('join' as const), c: clientArb, ch: chanArb }),
  fc.record({ kind: fc.constant('part' as const), c: clientArb, ch: chanArb }),
  fc.record({ kind: fc.constant('kick' as const), c: clientArb, ch: chanArb }),
  fc.record({ kind: fc.constant('nick' as const), c: clientArb, nick: nickArb }),
  fc.record({ kind: fc.constant('quit' as const), c: clientArb }),
  fc.record({ kind: fc.constant('umode' as const), c: clientArb, letter: fc.constantFrom('i', 'o', 'w'), on: fc.boolean() }),
  fc.record({ kind: fc.constant('prefix' as const), c: clientArb, ch: chanArb, prefixes: fc.constantFrom('', 'o', 'ov', 'v') }),
  fc.record({ kind: fc.constant('account' as const), c: clientArb, account: fc.constantFrom(undefined, 'acc', 'ACC', 'other') }),
  fc.record({ kind: fc.constant('watch' as const), c: clientArb, nick: nickArb, on: fc.boolean() }),
);

interface ModelUser {
  nick: string;
  modes: Set<string>;
  account: string | undefined;
}

describe('State indexes under random changes', () => {
  it('match a plain model after every operation, each change announced by exactly its events', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const { state, take } = recordedState();
        const fold = state.fold;
        // Slot i holds a live user (or none after its quit; the next op on it introduces a new one).
        const users: Array<User | undefined> = [];
        const model = new Map<User, ModelUser>();
        /** Folded channel name → member → prefixes. */
        const channels = new Map<string, Map<User, string>>();
        const watchers = new Map<string, Set<User>>();
        let nextId = 0;

        const freeNick = () => ['n0', 'n1', 'n2', 'n3', 'n4'].find((n) => !state.findNick(n) && ![...model.values()].some((u) => fold(u.nick) === n))!;
        const userAt = (i: number): User => {
          const existing = users[i];
          if (existing) return existing;
          const c = introduced(state, freeNick(), nextId++);
          users[i] = c;
          model.set(c, { nick: c.nick, modes: new Set(), account: undefined });
          take();
          return c;
        };

        for (const op of ops) {
          const c = userAt(op.c);
          const u = model.get(c)!;
          let expected: StateEventName[] = [];
          switch (op.kind) {
            case 'join': {
              const key = fold(op.ch);
              let members = channels.get(key);
              if (members?.has(c)) break;
              const { channel, created } = state.getOrCreateChannel(op.ch);
              state.addMember(channel, c, created ? 'o' : '');
              expected = created ? ['channelCreated', 'joined'] : ['joined'];
              if (!members) channels.set(key, (members = new Map()));
              members.set(c, created ? 'o' : '');
              break;
            }
            case 'part':
            case 'kick': {
              const key = fold(op.ch);
              const members = channels.get(key);
              if (!members?.has(c)) break;
              const channel = state.findChannel(op.ch)!;
              if (op.kind === 'part') state.part(channel, c);
              else state.kick(channel, c, c, 'out');
              members.delete(c);
              expected = [op.kind === 'part' ? 'parted' : 'kicked'];
              if (members.size === 0) {
                channels.delete(key);
                expected.push('channelDestroyed');
              }
              break;
            }
            case 'nick': {
              const holder = state.findNick(op.nick);
              if (holder && holder !== c) break;
              state.setNick(c, op.nick);
              u.nick = op.nick;
              expected = ['nickChanged'];
              break;
            }
            case 'quit': {
              state.removeClient(c, 'bye');
              expected = ['userQuit'];
              for (const [key, members] of channels) {
                if (!members.delete(c) || members.size > 0) continue;
                channels.delete(key);
                expected.push('channelDestroyed');
              }
              model.delete(c);
              users[op.c] = undefined;
              break;
            }
            case 'umode':
              state.setUserMode(c, op.letter, op.on);
              if (u.modes.has(op.letter) !== op.on) expected = ['userModeChanged'];
              if (op.on) u.modes.add(op.letter);
              else u.modes.delete(op.letter);
              break;
            case 'prefix': {
              const members = channels.get(fold(op.ch));
              if (!members?.has(c)) break;
              const channel = state.findChannel(op.ch)!;
              const changed = members.get(c) !== op.prefixes;
              state.changeChannelModes(channel, c, (w) => {
                w.setMemberPrefixes(channel, c, op.prefixes);
                return { applied: changed ? [{ add: true, mode: 'o', param: c.nick }] : [] };
              });
              if (changed) expected = ['channelModeChanged'];
              members.set(c, op.prefixes);
              break;
            }
            case 'account':
              state.setAccount(c, op.account);
              if (u.account !== op.account) expected = ['accountChanged'];
              u.account = op.account;
              break;
            case 'watch': {
              const key = fold(op.nick);
              if (op.on) state.watch(key, c);
              else state.unwatch(key, c);
              let set = watchers.get(key);
              if (!set) watchers.set(key, (set = new Set()));
              if (op.on) set.add(c);
              else set.delete(c);
              break;
            }
          }
          expect(take()).toEqual(expected);

          // Clients and the nick index.
          expect(new Set(state.clients)).toEqual(new Set(model.keys()));
          expect(state.registeredCount).toBe(model.size);
          expect(state.nicks.size).toBe(model.size);
          for (const [client, m] of model) {
            expect(client.nick).toBe(m.nick);
            expect(state.findNick(m.nick)).toBe(client);
          }
          // Channels, members and memberships.
          expect(new Set(state.channels.keys())).toEqual(new Set(channels.keys()));
          for (const [key, members] of channels) expect(new Map(state.channels.get(key)!.members)).toEqual(members);
          for (const client of model.keys()) {
            const names = [...state.channelsOf(client)].map((ch) => ch.folded).sort();
            expect(names).toEqual([...channels].filter(([, members]) => members.has(client)).map(([key]) => key).sort());
          }
          expect(state.memberships.size).toBe([...model.keys()].filter((client) => state.channelsOf(client).size > 0).length);
          // Mode holders, the account index and watchers.
          for (const letter of ['i', 'o', 'w']) {
            expect(new Set(state.withMode(letter))).toEqual(new Set([...model].filter(([, m]) => m.modes.has(letter)).map(([client]) => client)));
          }
          for (const account of ['acc', 'other']) {
            expect(new Set(state.withAccount(account))).toEqual(
              new Set([...model].filter(([, m]) => m.account !== undefined && fold(m.account) === account).map(([client]) => client)),
            );
          }
          for (const [key, set] of watchers) expect(new Set(state.watchersOf(key))).toEqual(set);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('State services', () => {
  it('introduces a service as registered and announced, but counts it neither in nor out', () => {
    const { state, take } = recordedState();
    const user = introduced(state, 'alice', 1);
    const service = fakeClient(-1);
    state.addClient(service);
    state.setNick(service, 'NickServ');
    take();
    state.introduceService(service);
    expect(take()).toEqual(['userIntroduced']);
    expect([service.registered, state.isService(service), state.isService(user)]).toEqual([true, true, false]);
    expect([...state.services]).toEqual([service]);
    expect([state.registeredCount, state.maxRegistered]).toEqual([1, 1]);
    state.removeClient(service, 'shutdown');
    expect(take()).toEqual(['userQuit']);
    expect([state.registeredCount, state.isService(service), state.findNick('nickserv')]).toEqual([1, false, undefined]);
    state.removeClient(user, 'bye');
    expect(state.registeredCount).toBe(0);
  });
});
