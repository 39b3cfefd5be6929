// REHASH and SIGHUP: re-reads the config file and applies it to the running server, or keeps the
// running config whole when the new one is invalid.
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { listenerKey, readTls, type Listener } from '../net/listener.js';
import { PrefixTable } from './channel.js';
import type { Server } from './server.js';

export type RehashResult = { ok: true } | { ok: false; error: string };

export class Rehash {
  constructor(private readonly server: Server) {}

  /**
   * Re-reads the config file. Everything is validated (and new listeners opened) before anything
   * changes; on any error the running config stays and the error is returned.
   */
  async run(source: string): Promise<RehashResult> {
    const server = this.server;
    let next: Config;
    try {
      next = loadConfig(server.configPath);
      if (next.server.casemapping !== server.config.server.casemapping)
        throw new Error('server.casemapping cannot change while running; restart the server to change it');
    } catch (err) {
      return this.failed(source, err);
    }
    const wanted = new Map(next.listen.map((l) => [listenerKey(l), l]));
    const opened: Listener[] = [];
    try {
      for (const l of wanted.values()) if (l.tls) readTls(l.tls); // a missing or unreadable key fails here, before any change
      for (const [key, l] of wanted) if (!server.listeners.has(key)) opened.push(await server.addListener(l));
      for (const [key, l] of wanted) if (l.tls && server.listeners.has(key)) server.listeners.get(key)!.reloadTls(l);
    } catch (err) {
      for (const l of opened) {
        server.listeners.delete(listenerKey(l.cfg));
        await l.close();
      }
      return this.failed(source, err);
    }
    // Existing connections on a removed listener stay; only the listening socket goes.
    for (const [key, l] of server.listeners) {
      if (!wanted.has(key)) {
        server.listeners.delete(key);
        void l.close();
      }
    }
    const old = server.config;
    const oldTokens = server.isupport.tokens().join(' ');
    const oldCaps = new Set(server.capOffers().map((c) => c.name as string));
    server.config = next;
    server.motd = server.readMotd();
    server.prefixes = new PrefixTable(next.channels.prefix);
    server.admission.resizeConnectThrottle(next.limits.connect_rate_ips);
    for (const user of server.state.clients) {
      for (const client of user.allSessions()) {
        const klass = server.admission.classFor(client.ownConn.ip, client.realHost) ?? next.class[0]!;
        client.klass = klass;
        client.ownConn.klass = klass;
        client.ownConn.limits = server.lineLimits();
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
    return { ok: true };
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
