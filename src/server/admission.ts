// Admission: the checks an address must pass to hold a connection (an allow block and its class,
// the connect rate, D-lines, the per-address count), made when a socket arrives (behind a proxy,
// on the address its PROXY header gave), before a WebSocket upgrade, and again when a WebIRC
// gateway tells its user's real address.
import type { Socket } from 'node:net';
import type { ClassConfig, Config, ListenConfig, WebircConfig } from '../config/schema.js';
import { Connection, type Transport } from '../net/connection.js';
import type { DisconnectReason } from '../net/disconnect.js';
import { countDown, HANDSHAKE_TIMEOUT_MS, PendingHandshakes } from '../net/pending.js';
import type { Peer } from '../net/proxy.js';
import { ConnectThrottle } from '../net/throttle.js';
import { upgradeToWebSocket, WebSocketTransport } from '../net/websocket.js';
import type { RejectReason } from '../observability/stats.js';
import { addressKey, cidrContains, globMatch, ipBytes, normalizeIp, parseCidr, type Cidr } from '../protocol/mask.js';
import type { User } from './user.js';
import { derivedFrom } from './derived.js';
import type { Server } from './server.js';

/** The outcome of the checks an address must pass to hold a connection (see Admission.admit). */
type Verdict = Admitted | { refused: string; label: RejectReason };
type Admitted = { klass: ClassConfig; counted: boolean };

export class Admission {
  /** WebSocket connections still in their HTTP upgrade: in all, and per address (trusted proxies aside). */
  private readonly pendingUpgrades = new PendingHandshakes();
  /** Connections of WebIRC gateways not yet told their user's address: outside the per-address count. */
  private readonly uncounted = new Set<Connection>();
  /** Connections held per address, an IPv6 address counting as its /64 (the class max_per_ip). */
  private readonly perAddress = new Map<string, number>();
  /** Recent connections per IP, for the class connect_rate. */
  private connectThrottle: ConnectThrottle;
  /** Rebuilt when REHASH replaces the config (every connection reads them). */
  private readonly derived: () => {
    /** Allow blocks with their CIDR parsed once (undefined for host globs, lowercased). */
    allow: Array<{ block: Config['allow'][number]; cidr: Cidr | undefined; glob: string }>;
    /** WebIRC gateway blocks with their addresses parsed once. */
    webirc: Array<{ block: WebircConfig; cidrs: Cidr[] }>;
    /** [proxy] trusted, parsed once. */
    proxies: Cidr[];
  };

  constructor(private readonly server: Server) {
    this.connectThrottle = new ConnectThrottle(server.config.limits.connect_rate_ips);
    this.derived = derivedFrom(
      () => server.config,
      (config) => ({
        allow: config.allow.map((block) => ({ block, cidr: parseCidr(block.mask), glob: block.mask.toLowerCase() })),
        webirc: config.webirc.map((block) => ({ block, cidrs: block.hosts.map((h) => parseCidr(h)!) })),
        proxies: config.proxy.trusted.map((h) => parseCidr(h)!),
      }),
    );
  }

  /**
   * A WebSocket listener's connection. Its address is admitted (D-lines, allow block, connect rate,
   * per-address count) before the HTTP upgrade and holds its place in the count while the upgrade
   * is pending; pending upgrades are bounded in size and time, in all and per address, so one
   * address cannot keep other browsers out. A refused address still gets the upgrade (within that
   * bound), so the refusal reaches the browser as an IRC ERROR it can show.
   */
  acceptWebSocket(socket: Socket, listener: ListenConfig, proxied?: Peer): void {
    const peer = proxied?.ip ?? normalizeIp(socket.remoteAddress ?? '');
    // A trusted proxy speaks for every user behind it, whose own addresses (X-Forwarded-For) are
    // known only once the upgrade is read: limiting or counting the proxy's address would lock all
    // of them out together. So it is exempt here, and accept() admits each user by their address.
    const fromTrustedProxy = listener.trusted_proxies.includes(peer);
    const key = fromTrustedProxy ? undefined : addressKey(peer);
    if (!this.pendingUpgrades.enter(key)) {
      this.server.stats.reject('limit');
      socket.destroy();
      return;
    }
    const admission = fromTrustedProxy ? undefined : this.admit(peer);
    if (admission && 'refused' in admission) this.refused(peer, admission.refused, admission.label);
    socket.on('error', () => {});
    const opts = { origins: listener.origins, fromTrustedProxy, timeoutMs: HANDSHAKE_TIMEOUT_MS };
    void upgradeToWebSocket(socket, opts).then((transport) => {
      this.pendingUpgrades.leave(key);
      if (admission && 'refused' in admission) {
        if (transport) this.sendRefusal(transport, peer, admission.refused);
      } else if (transport) this.accept(transport, listener, admission, proxied);
      // No upgrade (refused, timed out, gone): the address gives back its place in the count.
      else if (admission?.counted) countDown(this.perAddress, addressKey(peer));
    });
  }

  /**
   * Makes a client of a new connection, unless the server is stopping or full or the address may
   * not connect. `admitted` is given when the address was admitted before a WebSocket upgrade;
   * `proxied` is the client a PROXY header named (a reverse proxy's X-Forwarded-For behind it wins).
   */
  accept(socket: Transport, listener: ListenConfig, admitted?: Admitted, proxied?: Peer): void {
    const server = this.server;
    const peer = socket instanceof WebSocketTransport && socket.forwardedIp !== undefined ? undefined : proxied;
    const ip = peer?.ip ?? normalizeIp(socket.remoteAddress ?? '');
    const refuse = (reason: string, label: RejectReason) => {
      // A place in the per-address count taken before the upgrade is given back.
      if (admitted?.counted) countDown(this.perAddress, addressKey(ip));
      this.refused(ip, reason, label);
      this.sendRefusal(socket, ip, reason);
    };
    if (server.stopping) return refuse('Server is shutting down', 'shutdown');
    if (server.connectionCount >= server.config.server.max_clients) return refuse('Server is full', 'limit');
    // A D-line set while the upgrade was pending found no client to end: it applies here.
    const bannedSince = admitted && this.connectionRefusal(ip);
    if (bannedSince) return refuse(bannedSince, 'ban');
    const admission = admitted ?? this.admit(ip);
    if ('refused' in admission) return refuse(admission.refused, admission.label);
    const klass = admission.klass;

    const conn = new Connection(socket, server, klass, server.lineLimits(), server.flushes, peer);
    if (!admission.counted) this.uncounted.add(conn);
    server.addClient(conn, klass, listener);
  }

  /** Whether the address is in [proxy] trusted: it may send a PROXY header for its clients. */
  proxyTrusted(ip: string): boolean {
    const bytes = ipBytes(ip);
    return !!bytes && this.derived().proxies.some((cidr) => cidrContains(cidr, bytes));
  }

  /** Counts and logs a connection refused before it became a client. */
  refused(ip: string, reason: string, label: RejectReason): void {
    this.server.stats.reject(label);
    this.server.log.info({ ip, reason }, 'connection refused');
  }

  /**
   * Tells a refused connection why, as an IRC ERROR, and closes it. Written outside any sendq:
   * one line to a fresh socket, destroyed within 2 s even if the peer never reads it.
   */
  private sendRefusal(socket: Transport, ip: string, reason: string): void {
    socket.on('error', () => {});
    socket.write(`ERROR :Closing Link: ${ip} (${reason})\r\n`);
    socket.end();
    setTimeout(() => socket.destroy(), 2000).unref();
  }

  /**
   * The checks every address must pass to hold a connection: an allow block, the connect rate,
   * D-lines and the per-address limit. On success the address holds one more connection.
   */
  private admit(ip: string, host = ip): Verdict {
    const klass = this.classFor(ip, host);
    if (!klass) return { refused: 'You are not authorised to use this server', label: 'denied' };
    const key = addressKey(ip);
    // A WebIRC gateway connects for many users: they are counted by their own addresses once it
    // has told them (WEBIRC), so its own address is not rate- or count-limited.
    const gateway = this.webircBlocksFor(ip).length > 0;
    // The rate before the bans: a flood from one address, banned or not, is turned away by the
    // cheapest check. A banned address's attempts use up its tokens too, so it sees its ban
    // reason while it reconnects at a normal pace and "Throttled" when it floods.
    if (!gateway && !this.connectThrottle.allow(key, klass.connect_rate)) return { refused: 'Throttled: reconnecting too fast', label: 'throttle' };
    const banned = this.connectionRefusal(ip);
    if (banned) return { refused: banned, label: 'ban' };
    if (gateway) return { klass, counted: false };
    const count = this.perAddress.get(key) ?? 0;
    if (count >= klass.max_per_ip) return { refused: 'Too many connections from your IP', label: 'limit' };
    this.perAddress.set(key, count + 1);
    return { klass, counted: true };
  }

  /** REHASH: a new limits.connect_rate_ips starts the connect-rate memory afresh at that size. */
  resizeConnectThrottle(maxIps: number): void {
    if (maxIps !== this.connectThrottle.maxIps) this.connectThrottle = new ConnectThrottle(maxIps);
  }

  /** The [[webirc]] blocks whose hosts include this address (a gateway may be listed more than once). */
  webircBlocksFor(ip: string): WebircConfig[] {
    const gateways = this.derived().webirc;
    if (gateways.length === 0) return [];
    const bytes = ipBytes(ip);
    if (!bytes) return [];
    return gateways.filter(({ cidrs }) => cidrs.some((cidr) => cidrContains(cidr, bytes))).map(({ block }) => block);
  }

  /** Addresses holding at least one counted connection. */
  get addressesCounted(): number {
    return this.perAddress.size;
  }

  /** Gives back the connection's place in the per-address count (WebIRC gateways are not counted). */
  releaseAddress(conn: Connection): void {
    if (this.uncounted.delete(conn)) return;
    countDown(this.perAddress, addressKey(conn.ip));
  }

  /**
   * A registering client's real address, told by a trusted gateway (WEBIRC): from now on bans,
   * limits and the allow block see that address and host, as for a direct connection. Returns
   * the reason when the address may not connect (the caller closes the connection).
   */
  readdress(client: User, ip: string, host: string, secure: boolean): DisconnectReason | undefined {
    const conn = client.session.conn;
    const admitted = this.admit(ip, host);
    if ('refused' in admitted) {
      this.server.stats.reject(admitted.label);
      return { kind: admitted.label === 'ban' ? 'ban' : 'other', text: admitted.refused };
    }
    this.releaseAddress(conn);
    if (!admitted.counted) this.uncounted.add(conn);
    conn.readdress(ip, secure, admitted.klass);
    client.session.klass = admitted.klass;
    client.realHost = host;
    this.server.state.setHost(client, host);
    return undefined;
  }

  /** The first module's reason to refuse a connection from this IP (D-lines), if any. */
  connectionRefusal(ip: string): string | undefined {
    for (const m of this.server.modules) {
      const reason = m.refuseConnection?.(this.server, ip);
      if (reason) return reason;
    }
    return undefined;
  }

  /** The first module's reason to refuse this client at registration (K/X-lines), if any. */
  registrationRefusal(client: User): string | undefined {
    for (const m of this.server.modules) {
      const reason = m.refuseRegistration?.(this.server, client);
      if (reason) return reason;
    }
    return undefined;
  }

  /** The first allow block matching the IP (CIDR) or host (glob); it names the class and PASS password. */
  allowFor(ip: string, host = ip): Config['allow'][number] | undefined {
    const bytes = ipBytes(ip);
    const folded = host.toLowerCase();
    return this.derived().allow.find(({ cidr, glob }) =>
      cidr ? !!bytes && cidrContains(cidr, bytes) : globMatch(glob, folded),
    )?.block;
  }

  classFor(ip: string, host = ip): ClassConfig | undefined {
    const allow = this.allowFor(ip, host);
    return allow && this.server.config.class.find((c) => c.name === allow.class);
  }
}

