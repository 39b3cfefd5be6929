// The API's HTTP side: the order of checks every request goes through, and the web panel's three
// static files. Every answer is JSON (the panel's files aside), every error has a stable `code`:
//   404/405 route and method → 401/429 bearer token (failures counted per address, auth/attempts.ts)
//   → 403 privilege → 415/413/400 body (application/json, at most api.max_body_bytes, the route's
//   zod schema) and query → the handler, logged with the token's name (an audit record when it
//   changes something).
// Tokens go in the Authorization header only; no cookie is ever read or set. A browser attaches
// that header to no request on its own, so another site cannot make a logged-in browser call the
// API (CSRF), and without CORS headers it cannot read an answer either.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { z } from 'zod';
import { AttemptCounter } from '../../auth/attempts.js';
import { addressKey, normalizeIp } from '../../protocol/mask.js';
import type { Server } from '../../server/server.js';
import { ApiError, matchPath, METHODS, type Caller, type Route } from './route.js';
import type { TokenVerifier } from './tokens.js';
import { MAX_TOKEN_LENGTH } from './tokens.js';

/** Headers on every answer: no caching, no sniffing, no framing, and a CSP that allows only our own files. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

/**
 * Sockets answered with "Connection: close" while their request body was still coming: what
 * arrives after the answer is no request, and gets no answer of its own (see answerMalformed).
 */
const closing = new WeakSet<Socket>();

/** Answers a request Node could not parse (a malformed method or header) with a JSON 400. */
export function answerMalformed(socket: Duplex): void {
  if (!socket.writable || closing.has(socket as Socket)) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code: 'INVALID_REQUEST', message: 'malformed HTTP request' } }) + '\n';
  socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** A static file of the panel, read once at start. */
export interface StaticFile {
  type: string;
  body: Buffer;
}

export interface ApiHandlerOptions {
  routes: readonly Route[];
  /** The OpenAPI document, served without a token at /api/openapi.json. */
  openapi: string;
  /** The panel's files by path ("/", "/panel.js", "/panel.css"); empty when the panel is off. */
  files: ReadonlyMap<string, StaticFile>;
  verifier: TokenVerifier;
  /** Failed authentications per address. */
  failures: AttemptCounter;
}

/** Writes an answer. A request body still unread would be taken for the next request: such a connection closes. */
function write(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  const headers: Record<string, string> = { ...SECURITY_HEADERS, 'Content-Type': type, ...extra };
  if (!res.req.complete) {
    headers.Connection = 'close';
    closing.add(res.req.socket);
  }
  res.writeHead(status, headers);
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function send(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  write(res, status, 'application/json; charset=utf-8', JSON.stringify(body) + '\n', extra);
}

export function sendError(res: ServerResponse, err: ApiError, extra: Record<string, string> = {}): void {
  const error: Record<string, unknown> = { code: err.code, message: err.message };
  if (err.details !== undefined) error.details = err.details;
  send(res, err.status, { error }, extra);
}

/** A request body, at most `max` bytes: 413 past it (the socket is not read further). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) return Promise.reject(new ApiError(413, 'BODY_TOO_LARGE', `request bodies are limited to ${max} bytes (api.max_body_bytes)`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.pause();
        reject(new ApiError(413, 'BODY_TOO_LARGE', `request bodies are limited to ${max} bytes (api.max_body_bytes)`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** zod's issues as `details`: where and what, without echoing the values sent. */
function issues(error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> }): Array<{ path: string; message: string }> {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

async function parseJsonBody(req: IncomingMessage, max: number): Promise<unknown> {
  const raw = await readBody(req, max);
  if (raw.length === 0) return {};
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ApiError(400, 'INVALID_REQUEST', 'the body is not valid JSON');
  }
}

/** The bearer token of a request, or undefined. */
function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined || header.length > MAX_TOKEN_LENGTH + 7) return undefined;
  const m = /^Bearer ([\x21-\x7e]+)$/i.exec(header);
  return m?.[1];
}

async function authenticate(server: Server, req: IncomingMessage, opts: ApiHandlerOptions, ip: string): Promise<Caller> {
  const cfg = server.config.api;
  const windowMs = cfg.auth_window * 1000;
  const key = addressKey(ip);
  if (opts.failures.count(key, windowMs) >= cfg.auth_failures_per_ip)
    throw new ApiError(429, 'RATE_LIMITED', 'too many failed authentications from your address; try again later');
  const presented = bearer(req);
  // Under way until counted: parallel guesses from one address meet the limit together.
  const token = await opts.failures.underWay(key, async () => {
    const found = presented === undefined ? undefined : await opts.verifier.verify(presented, cfg.tokens);
    if (!found) opts.failures.hit(key, windowMs);
    return found;
  });
  if (!token) {
    server.log.warn({ ip, url: req.url?.slice(0, 200) }, 'API request with a missing or unknown token');
    throw new ApiError(401, 'UNAUTHORIZED', presented === undefined ? 'send "Authorization: Bearer <token>"' : 'unknown token');
  }
  return { name: token.name, privileges: new Set(token.privileges), ip };
}

function findRoute(routes: readonly Route[], method: string, path: string): { route: Route; params: Record<string, string> } {
  const allowed: string[] = [];
  for (const r of routes) {
    const params = matchPath(r.path, path);
    if (!params) continue;
    if (r.method === method) return { route: r, params };
    allowed.push(r.method);
  }
  if (allowed.length) throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed here; use ${allowed.join(', ')}`, { allow: allowed });
  throw new ApiError(404, 'NOT_FOUND', 'no such endpoint; see /api/openapi.json');
}

/** Answers one request; never throws (every failure becomes a JSON error). */
export async function handleApiRequest(server: Server, opts: ApiHandlerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const ip = normalizeIp(req.socket.remoteAddress ?? '');
  const method = req.method ?? 'GET';
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  let caller: Caller | undefined;
  let route: Route | undefined;
  try {
    if (!path.startsWith('/api/')) {
      const file = opts.files.get(path);
      if (!file) throw new ApiError(404, 'NOT_FOUND', 'no such page');
      if (method !== 'GET' && method !== 'HEAD') throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed here; use GET`, { allow: ['GET'] });
      return write(res, 200, file.type, file.body);
    }
    if (path === '/api/openapi.json') {
      if (method !== 'GET' && method !== 'HEAD') throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed here; use GET`, { allow: ['GET'] });
      return write(res, 200, 'application/json; charset=utf-8', opts.openapi);
    }
    if (!(METHODS as readonly string[]).includes(method) && method !== 'HEAD')
      throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${method.slice(0, 20)} is not a method of this API`, { allow: METHODS });
    const found = findRoute(opts.routes, method === 'HEAD' ? 'GET' : method, path);
    route = found.route;
    caller = await authenticate(server, req, opts, ip);
    if (route.privilege && !caller.privileges.has(route.privilege))
      throw new ApiError(403, 'FORBIDDEN', `the token "${caller.name}" lacks the "${route.privilege}" privilege`);
    const params = (route.params ?? EMPTY).safeParse(found.params);
    if (!params.success) throw new ApiError(400, 'INVALID_REQUEST', 'invalid path parameter', issues(params.error));
    const query = (route.query ?? EMPTY).safeParse(Object.fromEntries(new URLSearchParams(q === -1 ? '' : url.slice(q + 1))));
    if (!query.success) throw new ApiError(400, 'INVALID_REQUEST', 'invalid query parameter', issues(query.error));
    const raw = route.body ? await parseJsonBody(req, server.config.api.max_body_bytes) : undefined;
    if (!route.body && Number(req.headers['content-length'] ?? 0) > 0) throw new ApiError(400, 'INVALID_REQUEST', 'this endpoint takes no body');
    const body = route.body?.safeParse(raw);
    if (body && !body.success) throw new ApiError(400, 'INVALID_REQUEST', 'invalid body', issues(body.error));
    const answer = await route.handler({ server, caller, params: params.data, query: query.data, body: body?.data });
    logCall(server, caller, route, found.params, answer.status ?? 200);
    send(res, answer.status ?? 200, answer.body);
  } catch (err) {
    const apiErr = err instanceof ApiError ? err : undefined;
    if (!apiErr) server.log.error({ err: err instanceof Error ? err.stack : String(err), url: url.slice(0, 200), token: caller?.name }, 'API request failed');
    const e = apiErr ?? new ApiError(500, 'INTERNAL_ERROR', 'the server failed to answer; see its log');
    if (caller && route) logCall(server, caller, route, {}, e.status, e.code);
    const extra: Record<string, string> = {};
    const allow = (e.details as { allow?: unknown } | undefined)?.allow;
    if (e.status === 405 && Array.isArray(allow)) extra.Allow = allow.join(', ');
    sendError(res, e, extra);
  }
}

/** Every call is logged with the token's name; calls that change something are audit records. */
function logCall(server: Server, caller: Caller, route: Route, params: Record<string, string>, status: number, code?: string): void {
  const log = route.changes ? server.log.child({ audit: true }) : server.log;
  log.info({ api_token: caller.name, ip: caller.ip, method: route.method, route: route.path, params, status, code }, 'API call');
}

/** The schema of a route without path parameters or a query: nothing may be given. */
const EMPTY = z.strictObject({});
