// The optional HTTP listener ([metrics] in the config): /metrics for Prometheus and /healthz for
// load balancers and orchestrators. It serves nothing else and reads no request bodies.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Config } from '../config/schema.js';
import type { Server } from '../server/server.js';
import { Metrics } from './metrics.js';

export interface HttpEndpoint {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** The [metrics] block it was opened with (REHASH compares against it). */
  readonly cfg: Config['metrics'];
  /** Applies a new `max_connections` to the open listener. */
  setMaxConnections(n: number): void;
  close(): Promise<void>;
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
export async function startHttp(server: Server, cfg: Config['metrics'], metrics = new Metrics(server)): Promise<HttpEndpoint> {
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

  const http = createServer((req, res) => {
    handle(req, res).catch((err) => {
      server.log.error({ err: err instanceof Error ? err.stack : String(err), url: req.url }, 'metrics request failed');
      if (!res.headersSent) reply(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    });
  });
  // Scrapers and probes are few; a slow or idle client must not hold a socket for long.
  http.maxConnections = cfg.max_connections;
  http.requestTimeout = 10_000;
  http.headersTimeout = 5_000;
  http.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(new Error(`cannot listen on ${cfg.address}:${cfg.port} for [metrics]: ${err.message}`));
    http.once('error', onError);
    http.listen({ host: cfg.address, port: cfg.port }, () => {
      http.off('error', onError);
      resolve();
    });
  });
  http.on('error', (err) => server.log.error({ err: err.message }, 'metrics listener error'));
  const addr = http.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.port;
  server.log.info({ address: cfg.address, port }, 'metrics and health endpoint listening');
  return {
    port,
    cfg,
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
