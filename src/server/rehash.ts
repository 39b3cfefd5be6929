// REHASH and SIGHUP: re-reads the config file and applies it to the running server, or keeps the
// running config whole when the new one is invalid. Some keys are read only at start: a change to
// them is named to whoever asked ("changed but needs a restart") instead of passing for applied.
import { configWarnings, formatPath, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { checkTls, listenerKey, type Listener } from '../net/listener.js';
import { checkStsPolicy } from '../net/tlsverify.js';
import type { MetricsEndpoint } from '../observability/http.js';
import { PrefixTable } from './channel.js';
import type { Server } from './server.js';

/**
 * `needsRestart`: the keys whose new values wait for a restart, e.g. ["log.format", "store.path"];
 * `warnings`: what is valid but will not work as meant (config/load.ts configWarnings).
 */
export type RehashResult = { ok: true; needsRestart: string[]; warnings: string[] } | { ok: false; error: string };

/**
 * Keys read only when the server starts ("section.*": every key of the section): the store is
 * opened, the API endpoint bound and the log stream made once, and the SASL and REGISTER failure
 * counters are sized in their modules' init; every nick, channel and account key was folded under
 * server.casemapping, so the running one stays until a restart. [metrics] applies live: the
 * endpoint is opened, moved or closed to match.
 */
const RESTART_KEYS = [
  'server.casemapping',
  // A server's id is how the network knows it and its users (their UIDs): it stays until a
  // restart. [[link]] blocks apply live (link/network.ts rehashed).
  'server.sid',
  'store.*',
  'log.format',
  'log.destination',
  'sasl.failure_tracking',
  // Whether this server keeps accounts, and whether it introduces the network's SASL agent.
  'accounts.enabled',
  'sasl.serve_network',
  'sasl.agent',
  // History is kept in one backend from start to stop; moving it would need a copy.
  'history.backend',
  // The services' pseudo-users are introduced once, at start.
  'services.*',
  // The API listener is bound once; its tokens and limits are read per request and apply at once.
  'api.enabled',
  'api.address',
  'api.port',
  'api.tls',
  'api.max_connections',
  'api.panel',
] as const;

/** Keys of a [[listen]] block that its open socket keeps: they apply only to a listener opened anew. */
const LISTENER_RESTART_KEYS = ['origins', 'trusted_proxies', 'proxy', 'servers'] as const;

/** What the oper and the log are told: "changed but needs a restart: metrics.port, store.path". */
export function describeRestartNeeded(keys: readonly string[]): string {
  return `changed but needs a restart: ${keys.join(', ')}`;
}

/**
 * The restart keys whose value in `next` differs from the one in effect: the config the server
 * started with, or for a listener the block it was opened with. Compared with what runs rather
 * than the previous file, a change is named at every rehash until a restart applies it.
 */
function restartNeeded(atStart: Config, next: Config, listeners: ReadonlyMap<string, Listener>): string[] {
  const changed: string[] = [];
  for (const key of RESTART_KEYS) {
    const [section, name] = key.split('.') as [keyof Config, string];
    const before = atStart[section] as Record<string, unknown>;
    const after = next[section] as Record<string, unknown>;
    const names = name === '*' ? Object.keys({ ...before, ...after }) : [name];
    for (const n of names) if (!sameValue(before[n], after[n])) changed.push(`${section}.${n}`);
  }
  next.listen.forEach((block, i) => {
    const running = listeners.get(listenerKey(block))?.cfg;
    if (!running) return;
    for (const k of LISTENER_RESTART_KEYS) if (!sameValue(running[k], block[k])) changed.push(formatPath(['listen', i, k]));
  });
  return changed.sort();
}

/** Config values are plain data (strings, numbers, arrays of them). */
function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class Rehash {
  /** The config the process started with: where the keys read only at start still come from. */
  private readonly atStart: Config;

  constructor(private readonly server: Server) {
    this.atStart = server.config;
  }

  /**
   * Re-reads the config file. Everything is validated (and new listeners opened) before anything
   * changes; on any error the running config stays and the error is returned.
   */
  async run(source: string): Promise<RehashResult> {
    const server = this.server;
    let next: Config;
    try {
      next = loadConfig(server.configPath);
      await checkStsPolicy(next);
    } catch (err) {
      return this.failed(source, err);
    }
    const wanted = new Map(next.listen.map((l) => [listenerKey(l), l]));
    const opened: Listener[] = [];
    let http: MetricsEndpoint | undefined;
    try {
      for (const l of wanted.values()) if (l.tls) checkTls(l.tls); // a missing, unreadable or mismatched key fails here, before any change
      for (const [key, l] of wanted) if (!server.listeners.has(key)) opened.push(await server.addListener(l));
      for (const [key, l] of wanted) if (l.tls && server.listeners.has(key)) server.listeners.get(key)!.reloadTls(l);
      http = await this.openMovedHttp(next.metrics);
    } catch (err) {
      for (const l of opened) {
        server.listeners.delete(listenerKey(l.cfg));
        await l.close();
      }
      return this.failed(source, err);
    }
    const oldHttp = server.http;
    server.http = http;
    if (oldHttp && oldHttp !== http) void oldHttp.close();
    http?.setMaxConnections(next.metrics.max_connections);
    // Existing connections on a removed listener stay; only the listening socket goes.
    for (const [key, l] of server.listeners) {
      if (!wanted.has(key)) {
        server.listeners.delete(key);
        void l.close();
      }
    }
    const old = server.config;
    const needsRestart = restartNeeded(this.atStart, next, server.listeners);
    // The indexes were built with this casemapping: the new one waits (named in needsRestart).
    next.server.casemapping = this.atStart.server.casemapping;
    const oldTokens = server.isupport.tokens().join(' ');
    const oldCaps = new Set(server.capOffers().map((c) => c.name as string));
    server.config = next;
    server.motd = server.readMotd();
    server.prefixes = new PrefixTable(next.channels.prefix);
    server.admission.resizeConnectThrottle(next.limits.connect_rate_ips);
    for (const user of server.state.clients) {
      for (const session of user.sessions) {
        const klass = server.admission.classFor(session.conn.ip, user.realHost) ?? next.class[0]!;
        session.klass = klass;
        session.conn.klass = klass;
        session.conn.limits = server.lineLimits();
      }
    }
    const tokens = server.isupport.tokens();
    if (tokens.join(' ') !== oldTokens) for (const c of server.registeredClients()) server.isupport.send(c);
    server.emit('capsRehashed', oldCaps, new Set(server.capOffers().map((c) => c.name as string)));
    server.emit('rehashed', old);
    server.stats.rehashes.success++;
    // The log level follows the file; format and destination stay until a restart.
    server.setLogLevel(next.log.level);
    server.log.info({ source, config: server.configPath }, 'configuration reloaded');
    if (needsRestart.length) server.log.warn({ source, keys: needsRestart }, describeRestartNeeded(needsRestart));
    const warnings = configWarnings(next);
    for (const warning of warnings) server.log.warn({ source }, warning);
    return { ok: true, needsRestart, warnings };
  }

  /**
   * The metrics endpoint `cfg` asks for when it differs from the running one's address and port
   * (or none runs): opened here, swapped in by run(). The running one is still open, so a move to
   * the same port on another address closes it first, and reopens it if the new one fails.
   * Returns the running endpoint when nothing moves, undefined when [metrics] is disabled.
   */
  private async openMovedHttp(cfg: Config['metrics']): Promise<MetricsEndpoint | undefined> {
    const server = this.server;
    const running = server.http;
    if (!cfg.enabled) return undefined;
    if (running && running.cfg.address === cfg.address && running.cfg.port === cfg.port) return running;
    try {
      return await server.openHttp(cfg);
    } catch (err) {
      if (!running || cfg.port === 0 || running.port !== cfg.port) throw err;
    }
    await running.close();
    server.http = undefined;
    try {
      return await server.openHttp(cfg);
    } catch (err) {
      server.http = await server.openHttp(running.cfg);
      throw err;
    }
  }

  private failed(source: string, err: unknown): { ok: false; error: string } {
    const server = this.server;
    server.stats.rehashes.failure++;
    const error = (err as Error).message;
    server.log.error({ source, error }, 'rehash failed; keeping the running configuration');
    server.emit('rehashFailed', source, error);
    return { ok: false, error };
  }
}
