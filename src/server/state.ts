// The in-memory state store: every client, the nick index and the channel index.
// Live state only; it is rebuilt by clients reconnecting after a restart.
import type { CaseFold } from '../protocol/casemap.js';
import { Channel } from './channel.js';
import type { Client } from './client.js';

export class State {
  readonly clients = new Set<Client>();
  readonly nicks = new Map<string, Client>();
  readonly channels = new Map<string, Channel>();
  /** Channels each client is in, so QUIT/NICK reach each peer once. */
  readonly memberships = new Map<Client, Set<Channel>>();
  registeredCount = 0;
  maxRegistered = 0;
  /** Clients holding each user mode, so LUSERS, server notices and WALLOPS need not scan everyone. */
  private readonly modeHolders = new Map<string, Set<Client>>();
  /** Connections per IP, an IPv6 address counting as its /64 (per-IP limits). */
  readonly perIp = new Map<string, number>();
  /** Clients logged in to each account (casefolded name), so an account's sessions are found without a scan. */
  private readonly byAccount = new Map<string, Set<Client>>();
  /** Casefolded nick → clients monitoring it (MONITOR), so a change of a user reaches its watchers without a scan. */
  private readonly watchers = new Map<string, Set<Client>>();

  /** `channelRemoved` hears of each channel removed because its last member left. */
  constructor(
    readonly fold: CaseFold,
    private readonly channelRemoved?: (channel: Channel) => void,
  ) {}

  findNick(nick: string): Client | undefined {
    return this.nicks.get(this.fold(nick));
  }

  findChannel(name: string): Channel | undefined {
    return this.channels.get(this.fold(name));
  }

  /** Moves a client to a new nick in the index; the caller has checked it is free. */
  setNick(client: Client, nick: string): void {
    if (client.nickKey && this.nicks.get(client.nickKey) === client) this.nicks.delete(client.nickKey);
    client.nick = nick;
    client.nickKey = this.fold(nick);
    this.nicks.set(client.nickKey, client);
  }

  /** Sets or clears a user mode; every change of client.modes goes through here. */
  setUserMode(client: Client, letter: string, on: boolean): void {
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
  }

  withMode(letter: string): ReadonlySet<Client> {
    return this.modeHolders.get(letter) ?? NO_CLIENTS;
  }

  /** Drops a departing client from the mode indexes. */
  forgetModes(client: Client): void {
    for (const letter of client.modes) this.modeHolders.get(letter)?.delete(client);
  }

  /** Logs a client in to an account or out (undefined); every change of client.account goes through here. */
  setAccount(client: Client, account: string | undefined): void {
    this.forgetAccount(client);
    client.account = account;
    if (account === undefined) return;
    const key = this.fold(account);
    let set = this.byAccount.get(key);
    if (!set) this.byAccount.set(key, (set = new Set()));
    set.add(client);
  }

  /** Drops a departing client (or one becoming a session) from the account index; its account field stays. */
  forgetAccount(client: Client): void {
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

  channelsOf(client: Client): Set<Channel> {
    return this.memberships.get(client) ?? EMPTY;
  }

  /** Everyone sharing at least one channel with the client, without the client itself. */
  peersOf(client: Client): Set<Client> {
    const peers = new Set<Client>();
    for (const ch of this.channelsOf(client)) for (const m of ch.members.keys()) if (m !== client) peers.add(m);
    return peers;
  }

  getOrCreateChannel(name: string): { channel: Channel; created: boolean } {
    const folded = this.fold(name);
    let channel = this.channels.get(folded);
    if (channel) return { channel, created: false };
    channel = new Channel(name, folded);
    this.channels.set(folded, channel);
    return { channel, created: true };
  }

  /** Gives a channel a new name and moves it in the index; the caller has checked the name is free. */
  renameChannel(channel: Channel, name: string): void {
    this.channels.delete(channel.folded);
    channel.name = name;
    channel.folded = this.fold(name);
    this.channels.set(channel.folded, channel);
  }

  addMember(channel: Channel, client: Client, prefixes: string): void {
    channel.members.set(client, prefixes);
    let set = this.memberships.get(client);
    if (!set) this.memberships.set(client, (set = new Set()));
    set.add(channel);
  }

  /** Removes a member; an empty channel is destroyed. */
  removeMember(channel: Channel, client: Client): void {
    channel.members.delete(client);
    const set = this.memberships.get(client);
    if (set) {
      set.delete(channel);
      if (set.size === 0) this.memberships.delete(client);
    }
    if (channel.members.size === 0) {
      this.channels.delete(channel.folded);
      this.channelRemoved?.(channel);
    }
  }
}

const EMPTY: Set<Channel> = new Set();
const NO_CLIENTS: ReadonlySet<Client> = new Set();
