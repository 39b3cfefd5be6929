// The in-memory state store: every client, the nick index and the channel index.
// Live state only; it is rebuilt by clients reconnecting after a restart.
// Every change goes through a method here, which keeps each index true and announces the change
// on `events`; the maps are read-only to everyone else.
import type { CaseFold } from '../protocol/casemap.js';
import { Channel, type ListEntry, type Topic } from './channel.js';
import type { Client } from './client.js';
import { StateEventBus, type StateEventName } from './state-events.js';

export class State {
  readonly events: StateEventBus;
  private readonly clientSet = new Set<Client>();
  private readonly nickIndex = new Map<string, Client>();
  /** TR39 skeleton of each nick → its holder, when the casemapping has look-alikes (protocol/confusables.ts). */
  private readonly skeletonIndex = new Map<string, Client>();
  private readonly channelIndex = new Map<string, Channel>();
  /** Channels each client is in, so QUIT/NICK reach each peer once. */
  private readonly membershipIndex = new Map<Client, Set<Channel>>();
  /** Read-only views of the indexes above (the same objects: no copy on the hot path). */
  readonly clients: ReadonlySet<Client> = this.clientSet;
  readonly nicks: ReadonlyMap<string, Client> = this.nickIndex;
  readonly channels: ReadonlyMap<string, Channel> = this.channelIndex;
  readonly memberships: ReadonlyMap<Client, ReadonlySet<Channel>> = this.membershipIndex;
  private registered = 0;
  private mostRegistered = 0;
  /** Clients holding each user mode, so LUSERS, server notices and WALLOPS need not scan everyone. */
  private readonly modeHolders = new Map<string, Set<Client>>();
  /** Connections per IP, an IPv6 address counting as its /64 (per-IP limits). */
  readonly perIp = new Map<string, number>();
  /** Clients logged in to each account (casefolded name), so an account's sessions are found without a scan. */
  private readonly byAccount = new Map<string, Set<Client>>();
  /** Casefolded nick → clients monitoring it (MONITOR), so a change of a user reaches its watchers without a scan. */
  private readonly watchers = new Map<string, Set<Client>>();

  /**
   * `subscriberFailed` hears of an event subscriber that threw (the others still run); by default
   * it rethrows, for tests. `skeleton`, when given, keeps the index of look-alike nicks.
   */
  constructor(
    readonly fold: CaseFold,
    subscriberFailed: (event: StateEventName, err: unknown) => void = (_event, err) => {
      throw err;
    },
    readonly skeleton?: (nick: string) => string,
  ) {
    this.events = new StateEventBus(subscriberFailed);
  }

  /** Registered users (sessions of a multiclient user not counted). */
  get registeredCount(): number {
    return this.registered;
  }

  /** The most registered users at once since the start. */
  get maxRegistered(): number {
    return this.mostRegistered;
  }

  findNick(nick: string): Client | undefined {
    return this.nickIndex.get(this.fold(nick));
  }

  /** The user whose nick looks like `nick` (the same TR39 skeleton), when look-alikes are tracked. */
  findLookalike(nick: string): Client | undefined {
    return this.skeleton && this.skeletonIndex.get(this.skeleton(nick));
  }

  findChannel(name: string): Channel | undefined {
    return this.channelIndex.get(this.fold(name));
  }

  /** A new connection's client, not yet registered. */
  addClient(client: Client): void {
    this.clientSet.add(client);
  }

  /** A client completed registration. */
  introduceUser(client: Client): void {
    client.registered = true;
    this.registered++;
    this.mostRegistered = Math.max(this.mostRegistered, this.registered);
    this.events.emit('userIntroduced', { client });
  }

  /** Drops a departing client from every index; a registered one leaves its channels and is announced. */
  removeClient(client: Client, reason: string): void {
    this.clientSet.delete(client);
    for (const letter of client.modes) this.modeHolders.get(letter)?.delete(client);
    const channels = [...this.channelsOf(client)];
    const emptied = channels.filter((channel) => this.dropMember(channel, client));
    this.forgetAccount(client);
    this.freeNick(client);
    if (client.registered) {
      this.registered--;
      this.events.emit('userQuit', { client, reason, channels });
    }
    for (const channel of emptied) this.events.emit('channelDestroyed', { channel });
  }

  /**
   * A registering client's session moved to a user it attached to (multiclient): the client
   * leaves the client list, and its own nick and login, since only that user holds those now.
   */
  becomeSession(session: Client): void {
    this.clientSet.delete(session);
    this.forgetAccount(session);
    this.freeNick(session);
    session.nickKey = '';
  }

  private freeNick(client: Client): void {
    if (client.nickKey && this.nickIndex.get(client.nickKey) === client) this.nickIndex.delete(client.nickKey);
    if (this.skeleton && client.nickKey) {
      const key = this.skeleton(client.nick);
      if (this.skeletonIndex.get(key) === client) this.skeletonIndex.delete(key);
    }
  }

  /** Moves a client to a new nick in the index; the caller has checked it is free. */
  setNick(client: Client, nick: string): void {
    const oldNick = client.nick;
    this.freeNick(client);
    client.nick = nick;
    client.nickKey = this.fold(nick);
    this.nickIndex.set(client.nickKey, client);
    if (this.skeleton) this.skeletonIndex.set(this.skeleton(nick), client);
    this.events.emit('nickChanged', { client, oldNick });
  }

  /** Sets or clears a user mode; every change of client.modes goes through here. */
  setUserMode(client: Client, letter: string, on: boolean): void {
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

  withMode(letter: string): ReadonlySet<Client> {
    return this.modeHolders.get(letter) ?? NO_CLIENTS;
  }

  /** Logs a client in to an account or out (undefined); every change of client.account goes through here. */
  setAccount(client: Client, account: string | undefined): void {
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
  private forgetAccount(client: Client): void {
    if (client.account === undefined) return;
    const key = this.fold(client.account);
    const set = this.byAccount.get(key);
    set?.delete(client);
    if (set?.size === 0) this.byAccount.delete(key);
  }

  /** Clients logged in to the account, registered or not. */
  withAccount(account: string): ReadonlySet<Client> {
    return this.byAccount.get(this.fold(account)) ?? NO_CLIENTS;
  }

  /** Marks a user away with a message, or back (undefined). */
  setAway(client: Client, away: string | undefined): void {
    if (away === client.away) return;
    client.away = away;
    this.events.emit('awayChanged', { client });
  }

  /** Changes the host shown to others (a cloak, a resolved name, CHGHOST). */
  setHost(client: Client, host: string): void {
    const oldHost = client.host;
    if (host === oldHost) return;
    client.host = host;
    this.events.emit('hostChanged', { client, oldHost });
  }

  /** Clients monitoring this nick. */
  watchersOf(nick: string): ReadonlySet<Client> {
    return this.watchers.get(this.fold(nick)) ?? NO_CLIENTS;
  }

  /** Adds a watcher of a casefolded nick; the monitor module keeps each client's own list. */
  watch(key: string, client: Client): void {
    let watchers = this.watchers.get(key);
    if (!watchers) this.watchers.set(key, (watchers = new Set()));
    watchers.add(client);
  }

  /** Removes a watcher of a casefolded nick. */
  unwatch(key: string, client: Client): void {
    const watchers = this.watchers.get(key);
    watchers?.delete(client);
    if (watchers?.size === 0) this.watchers.delete(key);
  }

  channelsOf(client: Client): ReadonlySet<Channel> {
    return this.membershipIndex.get(client) ?? EMPTY;
  }

  /** Everyone sharing at least one channel with the client, without the client itself. */
  peersOf(client: Client): Set<Client> {
    const peers = new Set<Client>();
    for (const ch of this.channelsOf(client)) for (const m of ch.members.keys()) if (m !== client) peers.add(m);
    return peers;
  }

  getOrCreateChannel(name: string): { channel: Channel; created: boolean } {
    const folded = this.fold(name);
    let channel = this.channelIndex.get(folded);
    if (channel) return { channel, created: false };
    channel = new Channel(name, folded);
    this.channelIndex.set(folded, channel);
    this.events.emit('channelCreated', { channel });
    return { channel, created: true };
  }

  /** Gives a channel a new name and moves it in the index; the caller has checked the name is free. */
  renameChannel(channel: Channel, name: string): void {
    const oldName = channel.name;
    this.channelIndex.delete(channel.folded);
    writable(channel).name = name;
    writable(channel).folded = this.fold(name);
    this.channelIndex.set(channel.folded, channel);
    this.events.emit('channelRenamed', { channel, oldName });
  }

  addMember(channel: Channel, client: Client, prefixes: string): void {
    membersOf(channel).set(client, prefixes);
    let set = this.membershipIndex.get(client);
    if (!set) this.membershipIndex.set(client, (set = new Set()));
    set.add(channel);
    this.events.emit('joined', { channel, client });
  }

  /** A member leaves by PART (or JOIN 0); an empty channel is destroyed. */
  part(channel: Channel, client: Client): void {
    const emptied = this.dropMember(channel, client);
    this.events.emit('parted', { channel, client });
    if (emptied) this.events.emit('channelDestroyed', { channel });
  }

  /** A member is removed by KICK; an empty channel is destroyed. */
  kick(channel: Channel, client: Client): void {
    const emptied = this.dropMember(channel, client);
    this.events.emit('kicked', { channel, client });
    if (emptied) this.events.emit('channelDestroyed', { channel });
  }

  /** Removes a member from the indexes; true when that emptied the channel and took it out of the index. */
  private dropMember(channel: Channel, client: Client): boolean {
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

  /** Sets the prefix mode letters a member holds (highest rank first); the caller has checked it is a member. */
  setMemberPrefixes(channel: Channel, client: Client, prefixes: string): void {
    const oldPrefixes = channel.members.get(client)!;
    if (oldPrefixes === prefixes) return;
    membersOf(channel).set(client, prefixes);
    this.events.emit('memberModeChanged', { channel, client, oldPrefixes });
  }

  setTopic(channel: Channel, topic: Topic | undefined): void {
    writable(channel).topic = topic;
    this.events.emit('topicChanged', { channel });
  }

  /** Sets or clears a flag mode (i, m, n, s, t, ...). */
  setChannelFlag(channel: Channel, letter: string, on: boolean): void {
    if (channel.flags.has(letter) === on) return;
    const flags = channel.flags as Set<string>;
    if (on) flags.add(letter);
    else flags.delete(letter);
    this.events.emit('channelModeChanged', { channel, mode: letter, on });
  }

  /** Sets the key (+k) or clears it (undefined). */
  setChannelKey(channel: Channel, letter: string, key: string | undefined): void {
    if (channel.key === key) return;
    writable(channel).key = key;
    this.events.emit('channelModeChanged', { channel, mode: letter, on: key !== undefined, param: key });
  }

  /** Sets the member limit (+l) or clears it (undefined). */
  setChannelLimit(channel: Channel, letter: string, limit: number | undefined): void {
    if (channel.limit === limit) return;
    writable(channel).limit = limit;
    this.events.emit('channelModeChanged', { channel, mode: letter, on: limit !== undefined, param: limit?.toString() });
  }

  /** Adds an entry to a list mode (b, e, I); the caller has checked it is new and the lists have room. */
  addListEntry(channel: Channel, letter: string, entry: ListEntry): void {
    const lists = channel.lists as Map<string, ListEntry[]>;
    let list = lists.get(letter);
    if (!list) lists.set(letter, (list = []));
    list.push(entry);
    this.events.emit('channelModeChanged', { channel, mode: letter, on: true, param: entry.mask });
  }

  /** Removes the entry at `index` of a list mode and returns it. */
  removeListEntry(channel: Channel, letter: string, index: number): ListEntry {
    const [removed] = (channel.lists.get(letter) as ListEntry[]).splice(index, 1);
    this.events.emit('channelModeChanged', { channel, mode: letter, on: false, param: removed!.mask });
    return removed!;
  }
}

/** The writable member map, for State alone: Channel shows it read-only. */
function membersOf(channel: Channel): Map<Client, string> {
  return channel.members as Map<Client, string>;
}

/** A channel's fields as State alone may write them. */
function writable(channel: Channel): { -readonly [K in keyof Channel]: Channel[K] } {
  return channel;
}

const EMPTY: ReadonlySet<Channel> = new Set();
const NO_CLIENTS: ReadonlySet<Client> = new Set();
