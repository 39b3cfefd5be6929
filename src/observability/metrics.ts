// The Prometheus view of the server. Every ircd_* metric is computed when /metrics is scraped:
// hot paths only bump plain integers (stats.ts, Connection byte/line fields), and one snapshot
// of the live state is taken per scrape so the counters of one answer agree with each other.
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { Server } from '../server/server.js';
import { DISCONNECT_KINDS } from '../net/disconnect.js';
import { COMMAND_SECONDS_BUCKETS, REJECT_REASONS, type LinkStat } from './stats.js';

/** Figures summed over the open connections at scrape time. */
interface Snapshot {
  open: Map<string, { listener: string; tls: string; count: number }>;
  bytesIn: number;
  bytesOut: number;
  linesIn: number;
  linesOut: number;
  fannedOut: number;
  sendqBytes: number;
  sendqMax: number;
  opers: number;
}

function takeSnapshot(server: Server): Snapshot {
  const closed = server.stats.closed;
  const s: Snapshot = {
    open: new Map(),
    bytesIn: closed.bytesIn,
    bytesOut: closed.bytesOut,
    linesIn: closed.linesIn,
    linesOut: closed.linesOut,
    fannedOut: closed.fannedOut,
    sendqBytes: 0,
    sendqMax: 0,
    opers: 0,
  };
  // Every configured listener shows up, with 0 when it has no connections.
  for (const l of server.listeners.values()) {
    s.open.set(l.label, { listener: l.label, tls: String(!!l.cfg.tls), count: 0 });
  }
  for (const client of server.state.clients) {
    if (client.registered && client.oper) s.opers++;
    // Every connection counts, each session of a multiclient user included.
    for (const session of client.sessions) {
      const conn = session.conn;
      s.bytesIn += conn.bytesIn;
      s.bytesOut += conn.bytesOut;
      s.linesIn += conn.linesIn;
      s.linesOut += conn.linesOut;
      s.fannedOut += session.fannedOut;
      const q = conn.sendqBytes;
      s.sendqBytes += q;
      if (q > s.sendqMax) s.sendqMax = q;
      const entry = s.open.get(conn.listener);
      if (entry) entry.count++;
      // A connection on a listener removed by REHASH stays open; it keeps its label.
      else s.open.set(conn.listener, { listener: conn.listener, tls: String(conn.secure), count: 1 });
    }
  }
  return s;
}

export class Metrics {
  readonly registry = new Registry();
  private snap: Snapshot | undefined;

  constructor(server: Server) {
    const registers = [this.registry];
    const snap = () => (this.snap ??= takeSnapshot(server));
    const stats = server.stats;

    collectDefaultMetrics({ register: this.registry });

    new Gauge({
      name: 'ircd_info',
      help: 'Always 1; the version label says which ircd is running.',
      labelNames: ['version'],
      registers,
      collect() {
        this.set({ version: server.version }, 1);
      },
    });
    gauge('ircd_start_time_seconds', 'When the server started, in seconds since the Unix epoch.', () => server.startedAt / 1000);
    gauge('ircd_clients_registered', 'Clients that completed registration.', () => server.state.registeredCount);
    gauge('ircd_opers', 'Registered clients that are IRC operators.', () => snap().opers);
    gauge('ircd_channels', 'Channels that exist.', () => server.state.channels.size);
    gauge('ircd_sendq_bytes', 'Bytes waiting to be sent, all connections together.', () => snap().sendqBytes);
    gauge('ircd_sendq_max_bytes', 'Bytes waiting to be sent on the fullest connection.', () => snap().sendqMax);
    gauge('ircd_history_messages', 'Chat history messages kept (memory or store database).', () => stats.history?.().messages ?? 0);
    gauge(
      'ircd_history_bytes',
      'Bytes chat history takes: memory counted as held ([history] backend "memory"), or the store database pages in use ("sqlite").',
      () => stats.history?.().bytes ?? 0,
    );

    // Server links: one series per linked server (bounded by the [[link]] blocks).
    const links = () => stats.links?.() ?? [];
    gauge('ircd_links_up', 'Server links up (handshake done).', () => links().length);
    const perLink = (name: string, help: string, kind: 'gauge' | 'counter', read: (l: LinkStat) => number | undefined) => {
      const Kind = kind === 'gauge' ? Gauge : Counter;
      new Kind({
        name,
        help,
        labelNames: ['server'],
        registers,
        collect() {
          this.reset();
          for (const l of links()) {
            const v = read(l);
            if (v === undefined) continue;
            if (this instanceof Gauge) this.set({ server: l.server }, v);
            else this.inc({ server: l.server }, v);
          }
        },
      });
    };
    perLink('ircd_link_burst_seconds', "Time the linked server's burst took, from the end of the handshake to the PONG that ends it.", 'gauge', (l) => l.burstSeconds);
    perLink('ircd_link_sendq_bytes', 'Bytes waiting to be sent to the linked server.', 'gauge', (l) => l.sendqBytes);
    perLink('ircd_link_received_lines_total', 'Lines received from the linked server on the current connection to it.', 'counter', (l) => l.linesIn);
    perLink('ircd_link_sent_lines_total', 'Lines queued for the linked server on the current connection to it.', 'counter', (l) => l.linesOut);
    perLink('ircd_link_received_bytes_total', 'Bytes received from the linked server on the current connection to it.', 'counter', (l) => l.bytesIn);
    perLink('ircd_link_sent_bytes_total', 'Bytes written to the linked server on the current connection to it.', 'counter', (l) => l.bytesOut);

    new Gauge({
      name: 'ircd_always_on_users',
      help: 'Always-on users, by whether a connection is attached to them.',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = stats.alwaysOn?.() ?? { attached: 0, detached: 0 };
        this.set({ state: 'attached' }, counts.attached);
        this.set({ state: 'detached' }, counts.detached);
      },
    });
    new Gauge({
      name: 'ircd_connections_open',
      help: 'Open client connections (registered or not), by listener.',
      labelNames: ['listener', 'tls'],
      registers,
      collect() {
        this.reset();
        for (const o of snap().open.values()) this.set({ listener: o.listener, tls: o.tls }, o.count);
      },
    });
    new Counter({
      name: 'ircd_connections_accepted_total',
      help: 'Connections accepted, by listener.',
      labelNames: ['listener', 'tls'],
      registers,
      collect() {
        this.reset();
        const tlsOf = new Map([...server.listeners.values()].map((l) => [l.label, !!l.cfg.tls]));
        for (const [listener, n] of stats.accepted) this.inc({ listener, tls: String(tlsOf.get(listener) ?? false) }, n);
      },
    });
    new Counter({
      name: 'ircd_connections_rejected_total',
      help: 'Connections refused before registration, by reason.',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const reason of REJECT_REASONS) this.inc({ reason }, stats.rejected[reason]);
      },
    });
    new Counter({
      name: 'ircd_disconnects_total',
      help: 'Connections that ended, by reason.',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const kind of DISCONNECT_KINDS) this.inc({ reason: kind }, stats.disconnects[kind]);
      },
    });
    new Counter({
      name: 'ircd_commands_total',
      help: 'Commands handled, by command; commands the server does not know count as "unknown".',
      labelNames: ['command'],
      registers,
      collect() {
        this.reset();
        for (const command of server.router.commands.keys()) this.inc({ command }, server.router.usage.get(command) ?? 0);
        this.inc({ command: 'unknown' }, stats.unknownCommands);
      },
    });
    counter('ircd_received_lines_total', 'IRC lines received from clients.', () => snap().linesIn);
    counter('ircd_sent_lines_total', 'IRC lines queued for clients.', () => snap().linesOut);
    counter('ircd_received_bytes_total', 'Bytes received from clients.', () => snap().bytesIn);
    counter('ircd_sent_bytes_total', 'Bytes written to client sockets.', () => snap().bytesOut);
    counter(
      'ircd_messages_fanned_out_total',
      'Relayed messages delivered to recipients (one per recipient: a channel message to 10 members counts 10).',
      () => snap().fannedOut,
    );
    new Counter({
      name: 'ircd_sasl_authentications_total',
      help: 'Finished SASL authentication attempts, by mechanism and result.',
      labelNames: ['mechanism', 'result'],
      registers,
      collect() {
        this.reset();
        // The mechanisms offered now, and any other that has counts (offered before a REHASH, "other").
        const offered = new Set<string>(server.config.sasl.mechanisms);
        for (const [mechanism, n] of stats.sasl) {
          if (!offered.has(mechanism) && n.success + n.failure === 0) continue;
          this.inc({ mechanism, result: 'success' }, n.success);
          this.inc({ mechanism, result: 'failure' }, n.failure);
        }
      },
    });
    new Counter({
      name: 'ircd_rehashes_total',
      help: 'Configuration reloads (REHASH, SIGHUP), by result.',
      labelNames: ['result'],
      registers,
      collect() {
        this.reset();
        this.inc({ result: 'success' }, stats.rehashes.success);
        this.inc({ result: 'failure' }, stats.rehashes.failure);
      },
    });
    this.registry.registerMetric(commandDurationHistogram(server));

    function gauge(name: string, help: string, read: () => number): void {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    }
    function counter(name: string, help: string, read: () => number): void {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition, from one fresh snapshot. */
  async render(): Promise<string> {
    this.snap = undefined;
    try {
      return await this.registry.metrics();
    } finally {
      this.snap = undefined;
    }
  }
}

/**
 * The command duration histogram is counted into plain buckets by Stats.commandTime, because
 * prom-client's Histogram.observe per command is too slow for the hot path and has no way to
 * set bucket counts. This object answers the registry the way its own metrics do (get()).
 */
function commandDurationHistogram(server: Server): Metric {
  const name = 'ircd_command_duration_seconds';
  const metric = {
    name,
    help: 'Time spent handling a command, until its handler (or its promise) finished; a sample of one command in 16.',
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const { commandBuckets, commandSeconds } = server.stats;
      const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
      let cumulative = 0;
      COMMAND_SECONDS_BUCKETS.forEach((le, i) => {
        cumulative += commandBuckets[i]!;
        values.push({ metricName: `${name}_bucket`, labels: { le }, value: cumulative });
      });
      cumulative += commandBuckets[COMMAND_SECONDS_BUCKETS.length]!;
      values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: cumulative });
      values.push({ metricName: `${name}_sum`, labels: {}, value: commandSeconds });
      values.push({ metricName: `${name}_count`, labels: {}, value: cumulative });
      return { name, help: metric.help, type: 'histogram', values, aggregator: 'sum' };
    },
  };
  return metric as unknown as Metric;
}
