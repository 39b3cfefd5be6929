// Administration without an IRC client ([api], off by default): an HTTP JSON API with bearer
// tokens and a web panel, on its own listener (observability/http.ts listenHttp). The API is
// described by OpenAPI 3.1 (https://spec.openapis.org/oas/v3.1.0) generated from its routes.
// It sits in the modules layer because it drives other modules' functions (bans, accounts,
// oper, channels); docs/api.md is the operator's guide.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AttemptCounter } from '../../auth/attempts.js';
import { listenHttp, type HttpEndpoint } from '../../observability/http.js';
import type { Module } from '../../server/module.js';
import type { Server } from '../../server/server.js';
import { serverSlot } from '../../server/slots.js';
import { answerMalformed, handleApiRequest, sendError, type StaticFile } from './http.js';
import { openApiDocument } from './openapi.js';
import { ApiError } from './route.js';
import { apiRoutes, messagesTotal } from './routes.js';
import { MinuteSamples, type Sample } from './samples.js';
import { TokenVerifier } from './tokens.js';

const SAMPLE_EVERY_MS = 60_000;

interface ApiRuntime {
  samples: MinuteSamples;
  timer: NodeJS.Timeout;
  endpoint?: HttpEndpoint;
}

const runtimes = serverSlot<ApiRuntime>('api');

/** The panel's files: `panel/` at the top of the checkout, two folders up from src/ or three from dist/src/. */
function panelFiles(): Map<string, StaticFile> {
  const here = dirname(fileURLToPath(import.meta.url));
  const dir = [resolve(here, '../../../panel'), resolve(here, '../../../../panel')].find((d) => existsSync(join(d, 'index.html')));
  if (!dir) throw new Error('[api] panel = true, but the panel files (panel/index.html) are not installed beside src/ or dist/');
  const file = (name: string, type: string): StaticFile => ({ type, body: readFileSync(join(dir, name)) });
  return new Map([
    ['/', file('index.html', 'text/html; charset=utf-8')],
    ['/panel.js', file('panel.js', 'text/javascript; charset=utf-8')],
    ['/panel.css', file('panel.css', 'text/css; charset=utf-8')],
  ]);
}

/** The activity samples, with one for this moment at the end (the graph reaches now). */
function activity(server: Server): Sample[] {
  const samples = runtimes.require(server).samples;
  const since = messagesTotal(server) - samples.totalAtLast;
  return [...samples.list(), { at: Date.now(), users: server.state.registeredCount, messages: Math.max(0, since) }];
}

export const api: Module = {
  name: 'api',
  init: (server) => {
    if (!server.config.api.enabled) return;
    const samples = new MinuteSamples(60);
    samples.record(Date.now(), server.state.registeredCount, messagesTotal(server));
    const timer = setInterval(() => samples.record(Date.now(), server.state.registeredCount, messagesTotal(server)), SAMPLE_EVERY_MS);
    timer.unref();
    runtimes.set(server, { samples, timer });
  },
  start: async (server) => {
    const cfg = server.config.api;
    if (!cfg.enabled) return;
    const routes = apiRoutes(activity);
    const opts = {
      routes,
      openapi: JSON.stringify(openApiDocument(routes, server.version)),
      files: cfg.panel ? panelFiles() : new Map<string, StaticFile>(),
      verifier: new TokenVerifier(),
      failures: new AttemptCounter(10_000),
    };
    const endpoint = await listenHttp(
      server,
      { address: cfg.address, port: cfg.port, tls: cfg.tls, maxConnections: cfg.max_connections, section: 'api' },
      (req, res) => handleApiRequest(server, opts, req, res),
      (res) => sendError(res, new ApiError(500, 'INTERNAL_ERROR', 'the server failed to answer; see its log')),
    );
    // A request Node cannot parse (a malformed method or header) gets a JSON error too.
    // A request Node cannot parse (a malformed method or header) gets a JSON error too.
    endpoint.http.on('clientError', (_err, socket) => answerMalformed(socket));
    runtimes.require(server).endpoint = endpoint;
  },
  close: (server) => {
    const rt = runtimes.delete(server);
    if (!rt) return;
    clearInterval(rt.timer);
    void rt.endpoint?.close();
  },
};

/** The bound port of the API listener (tests bind port 0). */
export function apiPort(server: Server): number | undefined {
  return runtimes.get(server)?.endpoint?.port;
}
