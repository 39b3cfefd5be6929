// Listeners: plain TCP and TLS sockets handed to the server. A listen failure is a clear error.
import { readFileSync } from 'node:fs';
import { createServer as createTcpServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import type { ListenConfig } from '../config/schema.js';
import { addressKey, normalizeIp } from '../protocol/mask.js';
import { HANDSHAKE_TIMEOUT_MS, PendingHandshakes } from './pending.js';

export interface Listener {
  readonly cfg: ListenConfig;
  readonly server: NetServer | TlsServer;
  /** The bound port (useful with port 0). */
  readonly port: number;
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
 * A TLS listener. Nothing of ours sees a socket until its handshake is done, so silent sockets
 * are bounded here: a handshake gets HANDSHAKE_TIMEOUT_MS (Node's default is 120 s) and one
 * address only a few at once, so its half-open sockets cannot crowd out everyone else's.
 */
function openTls(cfg: ListenConfig, onSocket: (socket: Socket, l: ListenConfig) => void, events: ListenerEvents): TlsServer {
  const pending = new PendingHandshakes();
  // The raw socket and the TLS socket over it share the peer's address and port.
  const inHandshake = new Map<string, { key: string; raw: Socket }>();
  const peerOf = (s: Socket) => `${s.remoteAddress}|${s.remotePort}`;
  const done = (peer: string) => {
    const entry = inHandshake.get(peer);
    if (entry === undefined) return;
    inHandshake.delete(peer);
    pending.leave(entry.key);
  };
  const server = createTlsServer(
    { ...readTls(cfg.tls!), requestCert: true, rejectUnauthorized: false, handshakeTimeout: HANDSHAKE_TIMEOUT_MS },
    (s) => {
      done(peerOf(s));
      onSocket(s, cfg);
    },
  );
  server.on('connection', (raw: Socket) => {
    const key = addressKey(normalizeIp(raw.remoteAddress ?? ''));
    if (!pending.enter(key)) {
      events.refused();
      raw.destroy();
      return;
    }
    const peer = peerOf(raw);
    inHandshake.set(peer, { key, raw });
    raw.once('close', () => done(peer));
  });
  // A plaintext client (IRC or HTTP) is answered in plaintext on the raw socket, which still holds
  // the connection when the TLS layer gives up: one ERROR line it can show.
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!PLAINTEXT_ERRORS.has(err.code ?? '')) return;
    const raw = inHandshake.get(peerOf(socket))?.raw;
    const ip = normalizeIp(socket.remoteAddress ?? '');
    if (raw && !raw.destroyed) raw.end(`ERROR :Closing Link: ${ip} (${PLAINTEXT_ON_TLS})\r\n`);
    events.plaintextOnTls(ip);
  });
  return server;
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

export function listenerKey(cfg: ListenConfig): string {
  return `${cfg.address}|${cfg.port}|${cfg.tls ? 'tls' : 'plain'}${cfg.websocket ? '|ws' : ''}`;
}

/**
 * Opens a listener; each connection goes to `onSocket` (a TLS one once its handshake is done).
 * `events` hears of connections dropped before that.
 */
export async function openListener(
  cfg: ListenConfig,
  onSocket: (socket: Socket, l: ListenConfig) => void,
  events: ListenerEvents,
): Promise<Listener> {
  const server = cfg.tls ? openTls(cfg, onSocket, events) : createTcpServer((s) => onSocket(s, cfg));
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
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    reloadTls(next = cfg) {
      if (next.tls) (server as TlsServer).setSecureContext(readTls(next.tls));
    },
  };
}
