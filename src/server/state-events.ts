// What the state store announces: one typed event per change, so modules that keep their own
// records (WHOWAS, MONITOR, history) follow the state instead of being called by each handler.
import type { Channel, ModeChange } from './channel.js';
import type { User } from './user.js';
import type { ServerEntry } from './state.js';

/** Event name → payload. Each event is emitted after every index already reflects the change. */
export interface StateEvents {
  /** A client completed registration and counts as a user. */
  userIntroduced: { client: User };
  /** A client changed nick (before registration too; `client.registered` tells). */
  nickChanged: { client: User; oldNick: string };
  /**
   * A registered user left; its memberships, nick and indexes are gone. `channels`: those it was
   * in, with the prefixes it held; `home`: the server it was on.
   */
  userQuit: { client: User; reason: string; channels: ReadonlyMap<Channel, string>; home: ServerEntry };
  userModeChanged: { client: User; letter: string; on: boolean };
  accountChanged: { client: User; oldAccount: string | undefined };
  awayChanged: { client: User };
  /** The realname changed (SETNAME). */
  realnameChanged: { client: User };
  /** The username or shown host changed (a cloak, a resolved name, CHGHOST). */
  hostChanged: { client: User; oldUser: string; oldHost: string };
  channelCreated: { channel: Channel };
  /** The last member left; the channel is out of the index. */
  channelDestroyed: { channel: Channel };
  channelRenamed: { channel: Channel; oldName: string; by: User | undefined; reason: string };
  joined: { channel: Channel; client: User };
  /** `prefixes`: the prefix letters it held there. */
  parted: { channel: Channel; client: User; prefixes: string; reason: string | undefined };
  /** `prefixes`: the prefix letters it held there; `by` is undefined when the server did it. */
  kicked: { channel: Channel; client: User; prefixes: string; by: User | undefined; reason: string };
  /** The topic was set or cleared; `by` is undefined when the server did it. */
  topicChanged: { channel: Channel; by: User | undefined };
  /**
   * One command's channel mode changes, in the order applied: flags, the key, the limit, list
   * entries (param: the mask) and members' prefix modes (param: the nick). `by` is undefined when
   * the server made them.
   */
  channelModeChanged: { channel: Channel; by: User | undefined; changes: readonly ModeChange[] };
  /** A server joined the network behind `server.uplink`. */
  serverLinked: { server: ServerEntry };
  /**
   * A server left with everything behind it: `servers` (it first) and their users are gone; each
   * user's quit was announced before, with the split as its reason.
   */
  serverSplit: { server: ServerEntry; reason: string; servers: readonly ServerEntry[] };
}

export type StateEventName = keyof StateEvents;
type Listener<K extends StateEventName> = (event: StateEvents[K]) => void;

/**
 * Synchronous delivery in subscription order. A failing subscriber is reported to `failed` and
 * the others still run: one module's bug must not leave another's records behind the state.
 */
export class StateEventBus {
  private readonly listeners: { [K in StateEventName]?: Listener<K>[] } = {};

  constructor(private readonly failed: (event: StateEventName, err: unknown) => void) {}

  on<K extends StateEventName>(event: K, listener: Listener<K>): void {
    ((this.listeners[event] ??= []) as Listener<K>[]).push(listener);
  }

  emit<K extends StateEventName>(event: K, payload: StateEvents[K]): void {
    const listeners = this.listeners[event] as Listener<K>[] | undefined;
    if (!listeners) return;
    for (const listener of listeners) {
      try {
        listener(payload);
      } catch (err) {
        this.failed(event, err);
      }
    }
  }
}
