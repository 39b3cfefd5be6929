// The connection-level timers, one each for all connections rather than one per client: the pump
// that feeds throttled connections their flood tokens, and the 1-second sweep that times out
// registrations and pings quiet connections.
import type { ClassConfig } from '../config/schema.js';
import type { Connection } from './connection.js';
import type { DisconnectReason } from './disconnect.js';

/** Connections with lines waiting for flood tokens, pumped every 50 ms while there are any. */
export class ThrottledPump {
  private readonly throttledConns = new Set<Connection>();
  private throttleTimer: NodeJS.Timeout | undefined;

  throttled(conn: Connection): void {
    this.throttledConns.add(conn);
    if (this.throttleTimer) return;
    // One timer for all throttled connections, not one per client.
    this.throttleTimer = setInterval(() => {
      // A copy: pump() re-adds a connection still short of tokens, and iterating the live set
      // would then spin on it until its next token is due, stalling every other client.
      const due = [...this.throttledConns];
      this.throttledConns.clear();
      for (const c of due) c.pump();
      if (this.throttledConns.size === 0) {
        clearInterval(this.throttleTimer);
        this.throttleTimer = undefined;
      }
    }, 50);
    this.throttleTimer.unref();
  }

  /** A closed connection is no longer pumped. */
  forget(conn: Connection): void {
    this.throttledConns.delete(conn);
  }

  stop(): void {
    clearInterval(this.throttleTimer);
  }
}

/** What the sweep needs of a session: its connection and class. */
export interface SweptSession {
  readonly conn: Connection;
  readonly klass: ClassConfig;
}

/** What the sweep needs of a client: whether it registered, and its sessions. */
export interface SweptClient {
  readonly registered: boolean;
  readonly sessions: readonly SweptSession[];
}

/** Once a second: registration timeouts and keepalive pings for every client. */
export class KeepaliveSweep<C extends SweptClient> {
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly clients: () => Iterable<C>,
    private readonly disconnect: (client: C, reason: DisconnectReason) => void,
    private readonly serverName: () => string,
  ) {}

  start(): void {
    this.ticker = setInterval(() => this.tick(), 1000);
    this.ticker.unref();
  }

  stop(): void {
    clearInterval(this.ticker);
  }

  private tick(): void {
    const now = Date.now();
    for (const client of this.clients()) {
      if (!client.registered) {
        // A registering client is one connection.
        const s = client.sessions[0];
        if (s && now - s.conn.connectedAt > s.klass.registration_timeout * 1000)
          this.disconnect(client, { kind: 'registration_timeout', text: 'Registration timed out' });
        continue;
      }
      for (const s of client.sessions) this.keepAlive(s, now);
    }
  }

  /** Pings a quiet connection and closes one that stopped answering (only that session of a user). */
  private keepAlive(session: SweptSession, now: number): void {
    const conn = session.conn;
    const k = session.klass;
    if (conn.pingSentAt) {
      if (now - conn.pingSentAt > k.ping_timeout * 1000)
        conn.close({ kind: 'ping_timeout', text: `Ping timeout: ${Math.round((now - conn.lastRead) / 1000)} seconds` });
    } else if (now - conn.lastRead > k.ping_interval * 1000) {
      conn.pingSentAt = now;
      conn.writeText(`PING ${this.serverName()}\r\n`);
    }
  }
}
