// Listeners: plain TCP and TLS sockets handed to the server, after the PROXY protocol header on
// a listener with `proxy = true`. A listen failure is a clear error.
import { readFileSync } from 'node:fs';
import { createServer as createTcpServer, type Server as NetServer, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import type { ListenConfig } from '../config/schema.js';
import { addressKey, normalizeIp } from '../protocol/mask.js';
import { HANDSHAKE_TIMEOUT_MS, PendingHandshakes } from './pending.js';
import { readProxyHeader, type Peer } from './proxy.js';

/** Hands over a connection, with its client's address when a PROXY header gave one. */
export type OnSocket = (socket: Socket, l: ListenConfig, peer?: Peer) => void;

/** Who may send a PROXY header, and who hears of a connection refused for want of a good one. */
export interface ProxyGate {
  trusted(ip: string): boolean;
  refused(ip: string, reason: string): void;
}

export interface Listener {
  readonly cfg: ListenConfig;
  readonly server: NetServer | TlsServer;
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** "address:port" as metrics and logs name it; one string shared by all its connections. */
  readonly label: string;
  close(): Promise<void>;
  /** Loads the certificate files (from a new config block when given); new handshakes use them. */
  reloadTls(cfg?: ListenConfig): void;
}

export function readTls(cfg: NonNullable<ListenConfig['tls']>): SecureContextOptions {
  // Say which file of which kind: a bare ENOENT leaves the operator guessing at startup or REHASH.
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(`cannot read the TLS ${what} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message}`);
    }
  };
  return { cert: read('certificate', cfg.cert), key: read('key', cfg.key) };
}

/**
 * Reads a block's certificate and key and loads them as a listener will, so a file that is not
 * PEM, or a key that is not the certificate's, is named before anything uses them (`ircd check`,
 * REHASH) instead of at the next handshake.
 */
export function checkTls(cfg: NonNullable<ListenConfig['tls']>): void {
  const options = readTls(cfg);
  try {
    createSecureContext(options);
  } catch (err) {
    throw new Error(`the TLS certificate ${cfg.cert} and key ${cfg.key} do not load together: ${(err as Error).message}`);
  }
}

/**
 * A TLS listener. Nothing of ours sees a socket until its handshake is done, so silent sockets
 * are bounded here: a handshake gets HANDSHAKE_TIMEOUT_MS (Node's default is 120 s) and one
 * address only a few at once, so its half-open sockets cannot crowd out everyone else's.
 */
function openTls(cfg: ListenConfig, onSocket: OnSocket, events: ListenerEvents): { server: TlsServer; handOver: (raw: Socket, peer: Peer | undefined) => void } {
  const pending = new PendingHandshakes();
  // The raw socket and the TLS socket over it share the remote address and port; behind a proxy
  // the client's address (from the PROXY header) is what is counted and handed on.
  const inHandshake = new Map<string, { key: string; peer: Peer | undefined; raw: Socket }>();
  const remoteOf = (s: Socket) => `${s.remoteAddress}|${s.remotePort}`;
  const done = (remote: string) => {
    const entry = inHandshake.get(remote);
    if (entry === undefined) return undefined;
    inHandshake.delete(remote);
    pending.leave(entry.key);
    return entry;
  };
  const server = createTlsServer(
    { ...readTls(cfg.tls!), requestCert: true, rejectUnauthorized: false, handshakeTimeout: HANDSHAKE_TIMEOUT_MS },
    (s) => onSocket(s, cfg, done(remoteOf(s))?.peer),
  );
  const handOver = (raw: Socket, peer: Peer | undefined) => {
    const key = addressKey(peer?.ip ?? normalizeIp(raw.remoteAddress ?? ''));
    if (!pending.enter(key)) {
      events.refused();
      raw.destroy();
      return;
    }
    const remote = remoteOf(raw);
    inHandshake.set(remote, { key, peer, raw });
    raw.once('close', () => done(remote));
    // A proxied socket is given to TLS here (a direct one reached it by itself).
    if (cfg.proxy) server.emit('connection', raw);
  };
  // Direct connections; a proxied one is handed over once its header is read.
  if (!cfg.proxy) server.on('connection', (raw: Socket) => handOver(raw, undefined));
  // A plaintext client (IRC or HTTP) is answered in plaintext on the raw socket, which still holds
  // the connection when the TLS layer gives up: one ERROR line it can show.
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!PLAINTEXT_ERRORS.has(err.code ?? '')) return;
    const entry = inHandshake.get(remoteOf(socket));
    const ip = entry?.peer?.ip ?? normalizeIp(socket.remoteAddress ?? '');
    if (entry && !entry.raw.destroyed) entry.raw.end(`ERROR :Closing Link: ${ip} (${PLAINTEXT_ON_TLS})\r\n`);
    events.plaintextOnTls(ip);
  });
  return { server, handOver };
}

/** OpenSSL's answers to a first record that is not TLS: IRC lines, an HTTP request or proxy CONNECT. */
const PLAINTEXT_ERRORS = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_HTTP_REQUEST', 'ERR_SSL_HTTPS_PROXY_REQUEST']);

const PLAINTEXT_ON_TLS = 'This port speaks TLS only: turn TLS on in your client, or use a plaintext port';

/** What a listener reports about connections it drops before the server sees them. */
export interface ListenerEvents {
  /** Too many handshakes from the connection's address. */
  refused(): void;
  /** A TLS listener got plaintext (a client without TLS turned on). */
  plaintextOnTls(ip: string): void;
}

/**
 * A listener behind a proxy: each connection must come from a trusted proxy address and start
 * with a PROXY header, read within a bounded time and size before anything else sees the socket.
 * Headers being read are bounded in number; per address they are not, as all of them come from
 * the few proxies.
 */
function acceptProxied(gate: ProxyGate, onRefused: () => void, next: (raw: Socket, peer: Peer | undefined) => void) {
  const pending = new PendingHandshakes();
  return (raw: Socket) => {
    const ip = normalizeIp(raw.remoteAddress ?? '');
    if (!gate.trusted(ip)) {
      gate.refused(ip, 'not a trusted proxy');
      raw.destroy();
      return;
    }
    if (!pending.enter(undefined)) {
      onRefused();
      raw.destroy();
      return;
    }
    void readProxyHeader(raw).then((result) => {
      pending.leave(undefined);
      if ('refused' in result) {
        gate.refused(ip, result.refused);
        raw.destroy();
        return;
      }
      const h = result.header;
      // LOCAL and UNKNOWN: the proxy's own connection (a health check), shown as the proxy's.
      next(raw, h.local ? undefined : { ip: normalizeIp(h.source), port: h.sourcePort, secure: h.ssl });
    });
  };
}

/** A listener's address and port as one label: "[::1]:6667" for IPv6. */
export function listenerLabel(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function listenerKey(cfg: ListenConfig): string {
  return `${cfg.address}|${cfg.port}|${cfg.tls ? 'tls' : 'plain'}${cfg.websocket ? '|ws' : ''}${cfg.servers ? '|servers' : ''}`;
}

/**
 * Opens a listener; each connection goes to `onSocket` (a TLS one once its handshake is done).
 * `events` hears of connections dropped before that.
 */
export async function openListener(cfg: ListenConfig, onSocket: OnSocket, events: ListenerEvents, gate: ProxyGate): Promise<Listener> {
  const tls = cfg.tls ? openTls(cfg, onSocket, events) : undefined;
  let server: NetServer | TlsServer;
  if (cfg.proxy) {
    // The header comes before TLS: a plain server reads it, then TLS takes the socket.
    const next = tls
      ? tls.handOver
      : (raw: Socket, peer: Peer | undefined) => {
          onSocket(raw, cfg, peer);
          raw.resume();
        };
    const listening = createTcpServer(acceptProxied(gate, () => events.refused(), next));
    // The TLS server never listens itself: its handshake failures are told as the listener's.
    tls?.server.on('tlsClientError', (err: Error, socket: Socket) => listening.emit('tlsClientError', err, socket));
    server = listening;
  } else server = tls?.server ?? createTcpServer((s) => onSocket(s, cfg));
  server.maxConnections = 1 << 30;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'the port is already in use by another program'
          : err.code === 'EACCES'
            ? 'permission denied (ports below 1024 need privileges)'
            : err.code === 'EADDRNOTAVAIL'
              ? 'the address is not on this machine'
              : err.message;
      reject(new Error(`cannot listen on ${cfg.address}:${cfg.port}: ${why}`));
    };
    server.once('error', onError);
    server.listen({ host: cfg.address, port: cfg.port, backlog: 4096 }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.port;
  return {
    cfg,
    server,
    port,
    label: listenerLabel(cfg.address, port),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    reloadTls(next = cfg) {
      if (next.tls && tls) tls.server.setSecureContext(readTls(next.tls));
    },
  };
}
