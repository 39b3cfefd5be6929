// A server with [api] enabled on a loopback port, its tokens, and a fetch helper for the tests
// of the admin API (and the panel check script's server, started the same way).
import { makeToken } from '../../src/modules/api/tokens.js';
import { apiPort } from '../../src/modules/api/index.js';
import { startServer, type RawConfig, type TestServer } from './harness.js';

/** Tokens of the tests: one with every privilege, one with none, one that may only ban. */
export const ADMIN = makeToken();
export const READER = makeToken();
export const BANNER = makeToken();

export function apiSection(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    enabled: true,
    address: '127.0.0.1',
    port: 0,
    tokens: [
      { name: 'admin', hash: ADMIN.hash, privileges: ['kill', 'ban', 'rehash', 'wallops', 'see_hidden', 'override', 'accounts'] },
      { name: 'reader', hash: READER.hash, privileges: [] },
      { name: 'banner', hash: BANNER.hash, privileges: ['ban'] },
    ],
    ...extra,
  };
}

export async function startApiServer(patch: RawConfig = {}, api: Record<string, unknown> = {}): Promise<TestServer & { base: string }> {
  const ts = await startServer({ api: apiSection(api), ...patch });
  return { ...ts, base: `http://127.0.0.1:${apiPort(ts.server)}` };
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  // eslint-free JSON: the tests read whatever the endpoint answered.
  body: any;
}

/** One API call; `token` null sends no Authorization header. */
export async function api(base: string, method: string, path: string, opts: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  const token = opts.token === undefined ? ADMIN.token : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(base + path, { method, headers, body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}
