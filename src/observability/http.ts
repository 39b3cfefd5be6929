// The optional HTTP listener ([metrics] in the config): /metrics for Prometheus and /healthz for
// load balancers and orchestrators. It serves nothing else and reads no request bodies.
// listenHttp, the bounded HTTP(S) listener under it, also carries the admin API (modules/api).
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Config } from '../config/schema.js';
import { readTls } from '../net/listener.js';
import type { Server } from '../server/server.js';
import { Metrics } from './metrics.js';

/** An open HTTP(S) listener of ours (listenHttp). */
export interface HttpEndpoint {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Applies a new `max_connections` to the open listener. */
  setMaxConnections(n: number): void;
  close(): Promise<void>;
}

/** The metrics endpoint, with the [metrics] block it was opened with (REHASH compares against it). */
export interface MetricsEndpoint extends HttpEndpoint {
  readonly cfg: Config['metrics'];
}

/** The /healthz answer: 200 while serving, 503 while starting or shutting down. */
export function health(server: Server): { code: number; body: Record<string, unknown> } {
  const status = server.stopping ? 'stopping' : server.ready ? 'ok' : 'starting';
  return {
    code: status === 'ok' ? 200 : 503,
    body: {
      status,
      uptime_seconds: Math.floor((Date.now() - server.startedAt) / 1000),
      clients: server.state.registeredCount,
      channels: server.state.channels.size,
      version: server.version,
    },
  };
}

/** `metrics`: the server's one Prometheus view, kept when REHASH moves the endpoint. */
export async function startHttp(server: Server, cfg: Config['metrics'], metrics = new Metrics(server)): Promise<MetricsEndpoint> {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/healthz') return reply(res, 404, 'text/plain', 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return reply(res, 405, 'text/plain', 'method not allowed\n');
    }
    if (path === '/healthz') {
      const { code, body } = health(server);
      return reply(res, code, 'application/json', JSON.stringify(body) + '\n');
    }
    reply(res, 200, metrics.contentType, await metrics.render());
  };

  const endpoint = await listenHttp(server, { ...cfg, maxConnections: cfg.max_connections, section: 'metrics' }, handle, (res) =>
    reply(res, 500, 'text/plain', 'internal error\n'),
  );
  return { port: endpoint.port, cfg, setMaxConnections: endpoint.setMaxConnections, close: endpoint.close };
}

/** Where and how an HTTP listener of ours serves. */
export interface HttpListenOptions {
  address: string;
  port: number;
  /** HTTPS with these PEM files when set. */
  tls?: { cert: string; key: string };
  maxConnections: number;
  /** The config section it comes from, for errors and the log ("metrics", "api"). */
  section: string;
}

/**
 * Opens an HTTP(S) listener with the bounds every endpoint of ours needs (connections, request
 * and header timeouts) and one catch for failing handlers, which logs and answers with
 * `internalError` (or drops the socket once headers went out).
 */
export async function listenHttp(
  server: Server,
  opts: HttpListenOptions,
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  internalError: (res: ServerResponse) => void,
): Promise<HttpEndpoint & { http: HttpServer }> {
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err) => {
      server.log.error({ err: err instanceof Error ? err.stack : String(err), url: req.url }, `${opts.section} request failed`);
      if (!res.headersSent) internalError(res);
      else res.destroy();
    });
  };
  const http: HttpServer = opts.tls ? createHttpsServer(readTls(opts.tls), onRequest) : createServer(onRequest);
  // Clients are few (scrapers, probes, operators); a slow or idle one must not hold a socket for long.
  http.maxConnections = opts.maxConnections;
  http.requestTimeout = 10_000;
  http.headersTimeout = 5_000;
  http.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(new Error(`cannot listen on ${opts.address}:${opts.port} for [${opts.section}]: ${err.message}`));
    http.once('error', onError);
    http.listen({ host: opts.address, port: opts.port }, () => {
      http.off('error', onError);
      resolve();
    });
  });
  http.on('error', (err) => server.log.error({ err: err.message }, `${opts.section} listener error`));
  const addr = http.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  server.log.info({ address: opts.address, port, tls: !!opts.tls }, `${opts.section} endpoint listening`);
  return {
    http,
    port,
    setMaxConnections: (n) => {
      http.maxConnections = n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}

function reply(res: ServerResponse, code: number, type: string, body: string): void {
  res.writeHead(code, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
