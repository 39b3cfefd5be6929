// The in-memory state store: every client, the nick index and the channel index.
// Live state only; it is rebuilt by clients reconnecting after a restart.
// Every change goes through a method here, which keeps each index true and announces the change
// on `events`; the maps are read-only to everyone else.
import type { CaseFold } from '../protocol/casemap.js';
import { Channel, type ListEntry, type ModeChange, type Topic } from './channel.js';
import type { User } from './user.js';
import { StateEventBus, type StateEventName } from './state-events.js';

/**
 * A server of the network: this one (the root, no uplink) or one linked behind it. `sid` is the
 * TS6 server id, when the server has one.
 */
export interface ServerEntry {
  readonly name: string;
  readonly sid: string | undefined;
  readonly description: string;
  /** The server it is linked through (undefined for this server). */
  readonly uplink: ServerEntry | undefined;
  /** Links between it and this server (0 for this server). */
  readonly hops: number;
}

/**
 * The writes one MODE command makes, given to it by State.changeChannelModes: each applies at
 * once (so the checks of the next change see it) and is announced with the others at the end.
 */
/** A split being applied (State.planSplit, applySplit). */
export interface SplitPlan {
  readonly server: ServerEntry;
  readonly reason: string;
  /** It and every server behind it. */
  readonly servers: ReadonlySet<ServerEntry>;
  /** Their users, in the order they quit. */
  readonly users: readonly User[];
  /** How many of `users` have been handled. */
  done: number;
}

export interface ChannelModeWrites {
  /** Sets the prefix letters a member holds (highest rank first); the caller has checked it is a member. */
  setMemberPrefixes(channel: Channel, client: User, prefixes: string): void;
  setChannelFlag(channel: Channel, letter: string, on: boolean): void;
  /** Sets the key (+k) or clears it (undefined). */
  setChannelKey(channel: Channel, key: string | undefined): void;
  /** Sets the member limit (+l) or clears it (undefined). */
  setChannelLimit(channel: Channel, limit: number | undefined): void;
  /** Sets the channel refused joins go to (+f) or clears it (undefined). */
  setChannelForward(channel: Channel, target: string | undefined): void;
  /** Adds an entry to a list mode (b, e, I); the caller has checked it is new and the lists have room. */
  addListEntry(channel: Channel, letter: string, entry: ListEntry): void;
  /** Removes the entry at `index` of a list mode and returns it. */
  removeListEntry(channel: Channel, letter: string, index: number): ListEntry;
}

export class State {
  readonly events: StateEventBus;
  /** This server, the root of the server tree. */
  readonly me: ServerEntry;
  private readonly serverIndex = new Map<string, ServerEntry>();
  /** Every server of the network by casefolded name, this one included. */
  readonly servers: ReadonlyMap<string, ServerEntry> = this.serverIndex;
  /** The server each user not on this one is on (users of this server are not listed). */
  private readonly homeOf = new Map<User, ServerEntry>();
  private readonly clientSet = new Set<User>();
  private readonly nickIndex = new Map<string, User>();
  /** TR39 skeleton of each nick → its holder, when the casemapping has look-alikes (protocol/confusables.ts). */
  private readonly skeletonIndex = new Map<string, User>();
  private readonly channelIndex = new Map<string, Channel>();
  /** Channels each client is in, so QUIT/NICK reach each peer once. */
  private readonly membershipIndex = new Map<User, Set<Channel>>();
  /** Read-only views of the indexes above (the same objects: no copy on the hot path). */
  readonly clients: ReadonlySet<User> = this.clientSet;
  readonly nicks: ReadonlyMap<string, User> = this.nickIndex;
  readonly channels: ReadonlyMap<string, Channel> = this.channelIndex;
  readonly memberships: ReadonlyMap<User, ReadonlySet<Channel>> = this.membershipIndex;
  private registered = 0;
  /** Services' pseudo-users: registered, but not counted as users (LUSERS, registeredCount). */
  private readonly serviceSet = new Set<User>();
  readonly services: ReadonlySet<User> = this.serviceSet;
  private mostRegistered = 0;
  /** Clients holding each user mode, so LUSERS, server notices and WALLOPS need not scan everyone. */
  private readonly modeHolders = new Map<string, Set<User>>();
  /** Clients logged in to each account (casefolded name), so an account's sessions are found without a scan. */
  private readonly byAccount = new Map<string, Set<User>>();
  /** Casefolded nick → clients monitoring it (MONITOR), so a change of a user reaches its watchers without a scan. */
  private readonly watchers = new Map<string, Set<User>>();

  /**
   * `subscriberFailed` hears of an event subscriber that threw (the others still run); by default
   * it rethrows, for tests. `me` is this server. `skeleton`, when given, keeps the index of
   * look-alike nicks.
   */
  constructor(
    readonly fold: CaseFold,
    subscriberFailed: (event: StateEventName, err: unknown) => void = (_event, err) => {
      throw err;
    },
    me: { name: string; sid?: string; description?: string } = { name: 'irc.local' },
    readonly skeleton?: (nick: string) => string,
  ) {
    this.events = new StateEventBus(subscriberFailed);
    this.me = { name: me.name, sid: me.sid, description: me.description ?? '', uplink: undefined, hops: 0 };
    this.serverIndex.set(fold(me.name), this.me);
  }

  /** Registered users (sessions of a multiclient user and services not counted). */
  get registeredCount(): number {
    return this.registered;
  }

  /** Users of other servers (all registered: a linked server introduces only registered users), their services not counted. */
  get remoteCount(): number {
    let services = 0;
    for (const s of this.serviceSet) if (this.homeOf.has(s)) services++;
    return this.homeOf.size - services;
  }

  /** The most registered users at once since the start. */
  get maxRegistered(): number {
    return this.mostRegistered;
  }

  findNick(nick: string): User | undefined {
    return this.nickIndex.get(this.fold(nick));
  }

  /** The user whose nick looks like `nick` (the same TR39 skeleton), when look-alikes are tracked. */
  findLookalike(nick: string): User | undefined {
    return this.skeleton && this.skeletonIndex.get(this.skeleton(nick));
  }

  findChannel(name: string): Channel | undefined {
    return this.channelIndex.get(this.fold(name));
  }

  /** A new client, not yet registered: a connection's, or a user of another server (`home`). */
  addClient(client: User, home: ServerEntry = this.me): void {
    this.clientSet.add(client);
    if (home !== this.me) this.homeOf.set(client, home);
  }

  /** The server a user is on. */
  serverOf(client: User): ServerEntry {
    return this.homeOf.get(client) ?? this.me;
  }

  findServer(name: string): ServerEntry | undefined {
    return this.serverIndex.get(this.fold(name));
  }

  /** A server joined behind `uplink` (a server already known); the caller has checked the name is free. */
  linkServer(server: { name: string; sid?: string; description: string }, uplink: ServerEntry): ServerEntry {
    const entry: ServerEntry = { name: server.name, sid: server.sid, description: server.description, uplink, hops: uplink.hops + 1 };
    this.serverIndex.set(this.fold(entry.name), entry);
    this.events.emit('serverLinked', { server: entry });
    return entry;
  }

  /**
   * A server left the network, and with it every server behind it and every user on those: each
   * user quits with the split as its reason ("uplink server", as clients show netsplits), then
   * the split is announced.
   */
  splitServer(server: ServerEntry, reason?: string): void {
    this.applySplit(this.planSplit(server, reason), Infinity);
  }

  /** What a split of `server` takes (see splitServer), to apply with applySplit. */
  planSplit(server: ServerEntry, reason = `${server.uplink?.name ?? this.me.name} ${server.name}`): SplitPlan {
    if (server === this.me) throw new Error('this server cannot split from itself');
    const gone = new Set<ServerEntry>();
    // Servers behind it: those whose chain of uplinks reaches it.
    for (const s of this.serverIndex.values()) {
      for (let at: ServerEntry | undefined = s; at; at = at.uplink) {
        if (at === server) {
          gone.add(s);
          break;
        }
      }
    }
    const users: User[] = [];
    for (const [client, home] of this.homeOf) if (gone.has(home)) users.push(client);
    return { server, reason, servers: gone, users, done: 0 };
  }

  /**
   * Applies a split's quits until `until` (performance.now()), and when all are done forgets its
   * servers and announces it: true then, false with quits left (call again to go on). Thousands
   * of users take a few hundred milliseconds; a caller can spread them over event-loop turns.
   * A user that left meanwhile (killed between two calls) is skipped.
   */
  applySplit(plan: SplitPlan, until: number): boolean {
    const users = plan.users;
    while (plan.done < users.length) {
      const client = users[plan.done++]!;
      if (this.clientSet.has(client)) this.removeClient(client, plan.reason);
      if (plan.done % 64 === 0 && performance.now() >= until) break;
    }
    if (plan.done < users.length) return false;
    for (const s of plan.servers) this.serverIndex.delete(this.fold(s.name));
    const server = plan.server;
    this.events.emit('serverSplit', { server, reason: plan.reason, servers: [server, ...[...plan.servers].filter((s) => s !== server)] });
    return true;
  }

  /** A client completed registration. */
  introduceUser(client: User): void {
    client.registered = true;
    this.registered++;
    this.mostRegistered = Math.max(this.mostRegistered, this.registered);
    this.events.emit('userIntroduced', { client });
  }

  /** A services pseudo-user (NickServ) completed its introduction: registered, not counted as a user. */
  introduceService(client: User): void {
    client.registered = true;
    this.serviceSet.add(client);
    this.events.emit('userIntroduced', { client });
  }

  /** Whether the client is one of the services' pseudo-users. */
  isService(client: User): boolean {
    return this.serviceSet.has(client);
  }

  /** Drops a departing client from every index; a registered one leaves its channels and is announced. */
  removeClient(client: User, reason: string): void {
    const home = this.serverOf(client);
    this.clientSet.delete(client);
    this.homeOf.delete(client);
    for (const letter of client.modes) this.modeHolders.get(letter)?.delete(client);
    const channels = new Map<Channel, string>();
    for (const channel of this.channelsOf(client)) channels.set(channel, channel.members.get(client)!);
    const emptied = [...channels.keys()].filter((channel) => this.dropMember(channel, client));
    this.forgetAccount(client);
    this.freeNick(client);
    if (client.registered) {
      if (!this.serviceSet.delete(client)) this.registered--;
      this.events.emit('userQuit', { client, reason, channels, home });
    }
    for (const channel of emptied) this.events.emit('channelDestroyed', { channel });
  }

  /**
   * A registering client's session moved to a user it attached to (multiclient): the client
   * leaves the client list, and its own nick and login, since only that user holds those now.
   */
  becomeSession(session: User): void {
    this.clientSet.delete(session);
    this.forgetAccount(session);
    this.freeNick(session);
    session.nickKey = '';
  }

  private freeNick(client: User): void {
    if (client.nickKey && this.nickIndex.get(client.nickKey) === client) this.nickIndex.delete(client.nickKey);
    if (this.skeleton && client.nickKey) {
      const key = this.skeleton(client.nick);
      if (this.skeletonIndex.get(key) === client) this.skeletonIndex.delete(key);
    }
  }

  /** Moves a client to a new nick in the index; the caller has checked it is free. */
  setNick(client: User, nick: string): void {
    const oldNick = client.nick;
    this.freeNick(client);
    client.nick = nick;
    client.nickKey = this.fold(nick);
    this.nickIndex.set(client.nickKey, client);
    if (this.skeleton) this.skeletonIndex.set(this.skeleton(nick), client);
    this.events.emit('nickChanged', { client, oldNick });
  }

  /** Sets or clears a user mode; every change of client.modes goes through here. */
  setUserMode(client: User, letter: string, on: boolean): void {
    if (client.modes.has(letter) === on) return;
    let holders = this.modeHolders.get(letter);
    if (!holders) this.modeHolders.set(letter, (holders = new Set()));
    // Written only here: a client's first mode replaces the shared empty set with its own.
    if (on) {
      if (client.modes.size === 0) client.modes = new Set([letter]);
      else (client.modes as Set<string>).add(letter);
      holders.add(client);
    } else {
      (client.modes as Set<string>).delete(letter);
      holders.delete(client);
    }
    this.events.emit('userModeChanged', { client, letter, on });
  }

  withMode(letter: string): ReadonlySet<User> {
    return this.modeHolders.get(letter) ?? NO_CLIENTS;
  }

  /** Logs a client in to an account or out (undefined); every change of client.account goes through here. */
  setAccount(client: User, account: string | undefined): void {
    const oldAccount = client.account;
    if (account === oldAccount) return;
    this.forgetAccount(client);
    client.account = account;
    if (account !== undefined) {
      const key = this.fold(account);
      let set = this.byAccount.get(key);
      if (!set) this.byAccount.set(key, (set = new Set()));
      set.add(client);
    }
    this.events.emit('accountChanged', { client, oldAccount });
  }

  /** Drops a client from the account index; its account field stays for those who hear of its quit. */
  private forgetAccount(client: User): void {
    if (client.account === undefined) return;
    const key = this.fold(client.account);
    const set = this.byAccount.get(key);
    set?.delete(client);
    if (set?.size === 0) this.byAccount.delete(key);
  }

  /** Clients logged in to the account, registered or not. */
  withAccount(account: string): ReadonlySet<User> {
    return this.byAccount.get(this.fold(account)) ?? NO_CLIENTS;
  }

  /** Marks a user away with a message, or back (undefined). */
  setAway(client: User, away: string | undefined): void {
    if (away === client.away) return;
    client.away = away;
    this.events.emit('awayChanged', { client });
  }

  /** Changes a user's realname (SETNAME). */
  setRealname(client: User, realname: string): void {
    if (realname === client.realname) return;
    client.realname = realname;
    this.events.emit('realnameChanged', { client });
  }

  /** Changes the host shown to others (a cloak, a resolved name, CHGHOST), and the username with it when given. */
  setHost(client: User, host: string, user = client.user): void {
    const oldHost = client.host;
    const oldUser = client.user;
    if (host === oldHost && user === oldUser) return;
    client.host = host;
    client.user = user;
    this.events.emit('hostChanged', { client, oldUser, oldHost });
  }

  /** Clients monitoring this nick. */
  watchersOf(nick: string): ReadonlySet<User> {
    return this.watchers.get(this.fold(nick)) ?? NO_CLIENTS;
  }

  /** Adds a watcher of a casefolded nick; the monitor module keeps each client's own list. */
  watch(key: string, client: User): void {
    let watchers = this.watchers.get(key);
    if (!watchers) this.watchers.set(key, (watchers = new Set()));
    watchers.add(client);
  }

  /** Removes a watcher of a casefolded nick. */
  unwatch(key: string, client: User): void {
    const watchers = this.watchers.get(key);
    watchers?.delete(client);
    if (watchers?.size === 0) this.watchers.delete(key);
  }

  channelsOf(client: User): ReadonlySet<Channel> {
    return this.membershipIndex.get(client) ?? EMPTY;
  }

  /**
   * Everyone sharing at least one channel with the client where they can see it (an auditorium,
   * +u, hides members without a prefix from each other), without the client itself.
   */
  peersOf(client: User): Set<User> {
    const peers = new Set<User>();
    for (const ch of this.channelsOf(client)) {
      const auditorium = ch.flags.has('u');
      for (const m of ch.members.keys()) if (m !== client && !(auditorium && ch.hides(m, client))) peers.add(m);
    }
    return peers;
  }

  /** The channel of this name; a new one starts with `flags` set (the server's default modes, announced with its creation). */
  getOrCreateChannel(name: string, flags: Iterable<string> = []): { channel: Channel; created: boolean } {
    const folded = this.fold(name);
    let channel = this.channelIndex.get(folded);
    if (channel) return { channel, created: false };
    channel = new Channel(name, folded);
    for (const letter of flags) (channel.flags as Set<string>).add(letter);
    this.channelIndex.set(folded, channel);
    this.events.emit('channelCreated', { channel });
    return { channel, created: true };
  }

  /**
   * Takes a channel without members out of the index (one restored for a JOIN that was then
   * refused, see Server.findOrRestoreChannel); a channel with members is left alone.
   */
  discardChannel(channel: Channel): void {
    if (channel.members.size > 0 || this.channelIndex.get(channel.folded) !== channel) return;
    this.channelIndex.delete(channel.folded);
    this.events.emit('channelDestroyed', { channel });
  }

  /** Gives a channel a new name and moves it in the index; the caller has checked the name is free. */
  renameChannel(channel: Channel, name: string, by?: User, reason = ''): void {
    const oldName = channel.name;
    this.channelIndex.delete(channel.folded);
    writable(channel).name = name;
    writable(channel).folded = this.fold(name);
    this.channelIndex.set(channel.folded, channel);
    this.events.emit('channelRenamed', { channel, oldName, by, reason });
  }

  addMember(channel: Channel, client: User, prefixes: string): void {
    membersOf(channel).set(client, prefixes);
    let set = this.membershipIndex.get(client);
    if (!set) this.membershipIndex.set(client, (set = new Set()));
    set.add(channel);
    this.events.emit('joined', { channel, client });
  }

  /** A member leaves by PART (or JOIN 0); an empty channel is destroyed. */
  part(channel: Channel, client: User, reason?: string): void {
    const prefixes = channel.members.get(client) ?? '';
    const emptied = this.dropMember(channel, client);
    this.events.emit('parted', { channel, client, prefixes, reason });
    if (emptied) this.events.emit('channelDestroyed', { channel });
  }

  /** A member is removed by KICK; an empty channel is destroyed. */
  kick(channel: Channel, client: User, by: User | undefined, reason: string): void {
    const prefixes = channel.members.get(client) ?? '';
    const emptied = this.dropMember(channel, client);
    this.events.emit('kicked', { channel, client, prefixes, by, reason });
    if (emptied) this.events.emit('channelDestroyed', { channel });
  }

  /** Removes a member from the indexes; true when that emptied the channel and took it out of the index. */
  private dropMember(channel: Channel, client: User): boolean {
    membersOf(channel).delete(client);
    const set = this.membershipIndex.get(client);
    if (set) {
      set.delete(channel);
      if (set.size === 0) this.membershipIndex.delete(client);
    }
    if (channel.members.size > 0) return false;
    this.channelIndex.delete(channel.folded);
    return true;
  }

  setTopic(channel: Channel, topic: Topic | undefined, by?: User): void {
    writable(channel).topic = topic;
    this.events.emit('topicChanged', { channel, by });
  }

  /**
   * Applies one command's channel mode changes: `apply` makes them with the writes it is given
   * and returns what it applied, which is announced as one event (none when nothing changed).
   */
  changeChannelModes<R extends { applied: readonly ModeChange[] }>(channel: Channel, by: User | undefined, apply: (writes: ChannelModeWrites) => R): R {
    const result = apply(MODE_WRITES);
    if (result.applied.length > 0) this.events.emit('channelModeChanged', { channel, by, changes: result.applied });
    return result;
  }
}

/** The mode writes, announced by changeChannelModes once the command's changes are all made. */
const MODE_WRITES: ChannelModeWrites = {
  setMemberPrefixes(channel, client, prefixes) {
    membersOf(channel).set(client, prefixes);
  },
  setChannelFlag(channel, letter, on) {
    const flags = channel.flags as Set<string>;
    if (on) flags.add(letter);
    else flags.delete(letter);
  },
  setChannelKey(channel, key) {
    writable(channel).key = key;
  },
  setChannelLimit(channel, limit) {
    writable(channel).limit = limit;
  },
  setChannelForward(channel, target) {
    writable(channel).forward = target;
  },
  addListEntry(channel, letter, entry) {
    const lists = channel.lists as Map<string, ListEntry[]>;
    let list = lists.get(letter);
    if (!list) lists.set(letter, (list = []));
    list.push(entry);
  },
  removeListEntry(channel, letter, index) {
    return (channel.lists.get(letter) as ListEntry[]).splice(index, 1)[0]!;
  },
};

/** The writable member map, for State alone: Channel shows it read-only. */
function membersOf(channel: Channel): Map<User, string> {
  return channel.members as Map<User, string>;
}

/** A channel's fields as State alone may write them. */
function writable(channel: Channel): { -readonly [K in keyof Channel]: Channel[K] } {
  return channel;
}

const EMPTY: ReadonlySet<Channel> = new Set();
const NO_CLIENTS: ReadonlySet<User> = new Set();
