// Request parsing of the admin API under random input: methods, paths (near the real routes and
// anywhere), headers and bodies, over HTTP and as raw bytes. Never a 500, never a crash, and every
// error is JSON with a code; the server answers normally afterwards.
import fc from 'fast-check';
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, api, READER, startApiServer } from '../support/api.js';
import type { TestServer } from '../support/harness.js';
import { operConfig } from '../support/oper.js';

let ts: TestServer & { base: string };
let port: number;

beforeAll(async () => {
  // Failures are not limited here, so random tokens do not hide the checks behind them.
  ts = await startApiServer(operConfig(), { auth_failures_per_ip: 100000, max_body_bytes: 2048 });
  port = Number(new URL(ts.base).port);
});
afterAll(() => ts.stop());

interface Answer {
  status: number;
  type: string;
  body: string;
}

function send(method: string, path: string, headers: Record<string, string>, body: string | undefined): Promise<Answer | undefined> {
  return new Promise((resolve, reject) => {
    let req;
    try {
      req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type'] ?? ''), body: text }));
        res.on('error', reject);
      });
    } catch {
      // Node's client refused to send it (a character it will not put in a path or header).
      resolve(undefined);
      return;
    }
    req.on('error', reject);
    req.end(body);
  });
}

const segment = fc.oneof(
  fc.constantFrom('api', 'users', 'channels', 'bans', 'accounts', 'status', 'kill', 'topic', 'modes', 'kick', 'password', 'K', 'D', 'X', '%23room', '%2F', '%', '%zz', '..', '', 'openapi.json', 'panel.js'),
  fc.stringMatching(/^[A-Za-z0-9%._~!$&'()*+,;=:@-]{0,12}$/),
);
const path = fc.oneof(
  fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => '/api/' + s.join('/')),
  fc.array(segment, { maxLength: 4 }).map((s) => '/' + s.join('/')),
  fc.tuple(fc.array(segment, { minLength: 1, maxLength: 3 }), fc.stringMatching(/^[A-Za-z0-9%=&_.-]{0,20}$/)).map(([s, q]) => `/api/${s.join('/')}?${q}`),
);
const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS', 'PROPFIND', 'get');
const json = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v));
const body = fc.option(
  fc.oneof(
    json,
    fc.string({ maxLength: 200 }),
    fc.record({ kind: fc.constantFrom('K', 'D', 'X', 'Q'), mask: fc.string({ maxLength: 40 }), duration: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }) }).map((o) => JSON.stringify(o)),
    fc.record({ text: fc.string({ maxLength: 50 }), topic: fc.string({ maxLength: 50 }), modes: fc.string({ maxLength: 10 }), args: fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
    fc.constant('x'.repeat(3000)),
  ),
  { nil: undefined },
);
const headers = fc.record(
  {
    authorization: fc.oneof(
      fc.constant(`Bearer ${ADMIN.token}`),
      fc.constant(`Bearer ${READER.token}`),
      fc.constant('Bearer '),
      fc.stringMatching(/^[\x20-\x7e]{0,300}$/),
    ),
    'content-type': fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', ''),
  },
  { requiredKeys: [] },
);

function checkAnswer(a: Answer, m: string): void {
  expect(a.status).not.toBe(500);
  expect(a.status).toBeGreaterThanOrEqual(200);
  expect(a.status).toBeLessThan(500);
  if (a.status < 400) return;
  expect(a.type).toMatch(/^application\/json/);
  if (m === 'HEAD') return;
  const parsed = JSON.parse(a.body) as { error: { code: unknown; message: unknown } };
  expect(typeof parsed.error.code).toBe('string');
  expect(typeof parsed.error.message).toBe('string');
}

describe('API request parsing under random input', () => {
  it('answers every request without a 500, errors as JSON with a code', async () => {
    await fc.assert(
      fc.asyncProperty(method, path, headers, body, async (m, p, h, b) => {
        // A HEAD answer has no body, so the client could not read a JSON error to a HEAD that sent one.
        const answer = await send(m, p, h, m === 'HEAD' ? undefined : b);
        if (answer) checkAnswer(answer, m);
      }),
      { numRuns: 300 },
    );
    expect((await api(ts.base, 'GET', '/api/status')).status).toBe(200);
  });

  it('answers malformed HTTP with a JSON 400 and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), async (garbage) => {
        const text = await new Promise<string>((resolve) => {
          const s = connect(port, '127.0.0.1', () => s.end(`${garbage}\r\n\r\n`));
          let out = '';
          s.setEncoding('utf8');
          s.on('data', (c: string) => (out += c));
          s.on('close', () => resolve(out));
          s.on('error', () => resolve(out));
        });
        // Either nothing (the socket was dropped) or a status line that is no 5xx.
        if (text) expect(text).toMatch(/^HTTP\/1\.1 [1-4]\d\d /);
        if (text.startsWith('HTTP/1.1 400')) expect(text).toContain('"code":"INVALID_REQUEST"');
      }),
      { numRuns: 100 },
    );
    expect((await api(ts.base, 'GET', '/api/status')).status).toBe(200);
  });
});
