// What the state store announces: one typed event per change, so modules that keep their own
// records (WHOWAS, MONITOR, history) follow the state instead of being called by each handler.
import type { Channel } from './channel.js';
import type { Client } from './client.js';

/** Event name → payload. Each event is emitted after every index already reflects the change. */
export interface StateEvents {
  /** A client completed registration and counts as a user. */
  userIntroduced: { client: Client };
  /** A client changed nick (before registration too; `client.registered` tells). */
  nickChanged: { client: Client; oldNick: string };
  /** A registered user left; its memberships, nick and indexes are gone. */
  userQuit: { client: Client; reason: string; channels: readonly Channel[] };
  userModeChanged: { client: Client; letter: string; on: boolean };
  accountChanged: { client: Client; oldAccount: string | undefined };
  awayChanged: { client: Client };
  hostChanged: { client: Client; oldHost: string };
  channelCreated: { channel: Channel };
  /** The last member left; the channel is out of the index. */
  channelDestroyed: { channel: Channel };
  channelRenamed: { channel: Channel; oldName: string };
  joined: { channel: Channel; client: Client };
  parted: { channel: Channel; client: Client };
  kicked: { channel: Channel; client: Client };
  /** A member's prefix modes changed (e.g. +o). */
  memberModeChanged: { channel: Channel; client: Client; oldPrefixes: string };
  topicChanged: { channel: Channel };
  /** A channel mode was set or cleared: a flag, the key, the limit (param: the new value) or a list entry (param: its mask). */
  channelModeChanged: { channel: Channel; mode: string; on: boolean; param?: string };
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
