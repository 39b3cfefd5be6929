// Plain counters the server bumps on its paths. They cost an integer add; prom-client only reads
// them when /metrics is scraped (see metrics.ts), so nothing here calls into a metrics library.
import type { Connection } from '../net/connection.js';
import { DISCONNECT_KINDS, type DisconnectKind } from '../net/disconnect.js';

/** Why a connection was refused before it became a client. */
export const REJECT_REASONS = ['limit', 'ban', 'denied', 'throttle', 'tls_error', 'shutdown'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** SASL mechanisms counted by name; anything else a client names is counted as "other". */
export const SASL_MECHANISMS = ['PLAIN', 'EXTERNAL', 'SCRAM-SHA-1', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'other'] as const;

/** Upper bounds (seconds) of the command handling time histogram; handlers run in microseconds. */
export const COMMAND_SECONDS_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.025, 0.1, 0.5, 2.5];

/** One server link that is up, as /metrics and STATS l show it. */
export interface LinkStat {
  /** The server at the other end. */
  server: string;
  ip: string;
  outgoing: boolean;
  sendqBytes: number;
  linesIn: number;
  linesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** When the socket opened (ms since the epoch). */
  connectedAt: number;
  /** Seconds from the end of the handshake to the end of the peer's burst; undefined while it bursts. */
  burstSeconds: number | undefined;
}

function zeroes<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

export class Stats {
  /** Connections accepted, by listener label ("127.0.0.1:6667"); bounded by the configured listeners. */
  readonly accepted = new Map<string, number>();
  readonly rejected = zeroes(REJECT_REASONS);
  /** Connections ended, by the kind of their DisconnectReason. */
  readonly disconnects = zeroes(DISCONNECT_KINDS);
  /** Commands the router did not know (router.usage counts the known ones). */
  unknownCommands = 0;
  /** Command handling time: a count per bucket of COMMAND_SECONDS_BUCKETS (last = +Inf), and the sum. */
  readonly commandBuckets = new Array<number>(COMMAND_SECONDS_BUCKETS.length + 1).fill(0);
  commandSeconds = 0;
  /** Traffic of connections already closed; open ones are read from their Connection at scrape time. */
  readonly closed = { bytesIn: 0, bytesOut: 0, linesIn: 0, linesOut: 0, fannedOut: 0 };
  readonly sasl = new Map<string, { success: number; failure: number }>(
    SASL_MECHANISMS.map((m) => [m, { success: 0, failure: 0 }]),
  );
  readonly rehashes = { success: 0, failure: 0 };
  /** The server links that are up, read at scrape time and by STATS l; set by the link module. */
  links: (() => LinkStat[]) | undefined;
  /** Chat history's size, read at scrape time; set by the history module while it keeps history. */
  history: (() => { messages: number; bytes: number }) | undefined;
  /** Always-on users with and without a connection, read at scrape time; set by the always-on module. */
  alwaysOn: (() => { attached: number; detached: number }) | undefined;

  reject(reason: RejectReason): void {
    this.rejected[reason]++;
  }

  accept(listener: string): void {
    this.accepted.set(listener, (this.accepted.get(listener) ?? 0) + 1);
  }

  /** One command in this many is timed: reading the clock costs more than many handlers do. */
  commandTimingEvery = 16;
  private commandsSeen = 0;

  /** A performance.now() start when this command is sampled for the duration histogram, else -1. */
  commandStart(): number {
    return ++this.commandsSeen % this.commandTimingEvery === 0 ? performance.now() : -1;
  }

  commandEnd(started: number): void {
    if (started >= 0) this.observeCommandSeconds((performance.now() - started) / 1000);
  }

  observeCommandSeconds(seconds: number): void {
    this.commandSeconds += seconds;
    let i = 0;
    while (i < COMMAND_SECONDS_BUCKETS.length && seconds > COMMAND_SECONDS_BUCKETS[i]!) i++;
    this.commandBuckets[i]!++;
  }

  /** Moves a closing connection's traffic into the totals and counts why it ended. */
  connectionClosed(conn: Connection, fannedOut: number, kind: DisconnectKind): void {
    this.closed.bytesIn += conn.bytesIn;
    this.closed.bytesOut += conn.bytesOut;
    this.closed.linesIn += conn.linesIn;
    this.closed.linesOut += conn.linesOut;
    this.closed.fannedOut += fannedOut;
    this.disconnects[kind]++;
  }

  /** For the SASL module: one finished authentication attempt. */
  saslAttempt(mechanism: string, ok: boolean): void {
    const upper = mechanism.toUpperCase();
    const counts = this.sasl.get(upper) ?? this.sasl.get('other')!;
    if (ok) counts.success++;
    else counts.failure++;
  }
}
