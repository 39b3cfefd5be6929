// /metrics and /healthz on a live server: counters move by what a scripted session did, health
// follows the server's life, and the shipped dashboard and alert rules only use real metrics.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { allModules } from '../../src/modules/index.js';
import { DISCONNECT_KINDS } from '../../src/net/disconnect.js';
import { health, startHttp } from '../../src/observability/http.js';
import { Server } from '../../src/server/server.js';
import { client, startServer, testConfig, waitUntil, type TestClient, type TestServer } from '../support/harness.js';
import { operConfig, operUp } from '../support/oper.js';

const ROOT = join(import.meta.dirname, '..', '..');
const zeroes = Object.fromEntries(DISCONNECT_KINDS.map((k) => [k, 0]));
let ts: TestServer | undefined;

afterEach(async () => {
  await ts?.stop();
  ts = undefined;
});

async function startWithMetrics(): Promise<TestServer> {
  ts = await startServer({ metrics: { enabled: true, address: '127.0.0.1', port: 0 } });
  return ts;
}

function url(t: TestServer, path: string): string {
  return `http://127.0.0.1:${t.server.http!.port}${path}`;
}

/** Series ("name{labels}") → value, from the Prometheus text format. */
async function scrape(t: TestServer): Promise<{ text: string; series: Map<string, number> }> {
  const res = await fetch(url(t, '/metrics'));
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  const text = await res.text();
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { text, series };
}

/** Bytes of the lines a test client received, as they were on the wire (CRLF included). */
function wireBytes(lines: string[]): number {
  return lines.reduce((n, l) => n + Buffer.byteLength(l, 'utf8') + 2, 0);
}

describe('/metrics', () => {
  it('counts a scripted session exactly', async () => {
    const t = await startWithMetrics();
    t.server.stats.commandTimingEvery = 1; // time every command, so the histogram count is exact
    const before = (await scrape(t)).series;
    const delta = (after: Map<string, number>, key: string) => (after.get(key) ?? NaN) - (before.get(key) ?? 0);

    const sent: string[] = [];
    const say = (c: TestClient, line: string) => {
      sent.push(line);
      c.send(line);
    };
    const alice = await client(t.port, 'alice');
    const bob = await client(t.port, 'bob');
    sent.push('NICK alice', 'USER alice 0 * :Test User', 'NICK bob', 'USER bob 0 * :Test User');
    say(bob, 'JOIN #metrics');
    await bob.waitFor('366');
    say(alice, 'PRIVMSG bob :hello there');
    await bob.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'hello there');
    say(bob, 'FROBNICATE now');
    await bob.waitFor('421');
    say(alice, 'QUIT :done ✓'); // non-ASCII: bytes, not characters, are counted
    await alice.waitClosed();
    await bob.collectUntilPong('sync1');
    sent.push('PING sync1');

    const after = (await scrape(t)).series;
    const listener = `{listener="127.0.0.1:${t.port}",tls="false"}`;
    expect(delta(after, `ircd_connections_accepted_total${listener}`)).toBe(2);
    expect(after.get(`ircd_connections_open${listener}`)).toBe(1);
    expect(after.get('ircd_clients_registered')).toBe(1);
    expect(after.get('ircd_channels')).toBe(1);
    expect(delta(after, 'ircd_disconnects_total{reason="quit"}')).toBe(1);
    for (const [command, n] of [['NICK', 2], ['USER', 2], ['JOIN', 1], ['PRIVMSG', 1], ['QUIT', 1], ['PING', 1], ['unknown', 1]] as const)
      expect(delta(after, `ircd_commands_total{command="${command}"}`), command).toBe(n);
    // Handled commands are timed; the unknown one never reached a handler.
    expect(delta(after, 'ircd_command_duration_seconds_count')).toBe(8);
    expect(delta(after, 'ircd_command_duration_seconds_bucket{le="+Inf"}')).toBe(8);
    expect(delta(after, 'ircd_received_lines_total')).toBe(sent.length);
    expect(delta(after, 'ircd_received_bytes_total')).toBe(wireBytes(sent));
    expect(delta(after, 'ircd_sent_lines_total')).toBe(alice.lines.length + bob.lines.length);
    expect(delta(after, 'ircd_sent_bytes_total')).toBe(wireBytes(alice.lines) + wireBytes(bob.lines));
    // Relayed to others: bob's own JOIN echo and the PRIVMSG to bob.
    expect(delta(after, 'ircd_messages_fanned_out_total')).toBe(2);
    bob.close();
  });

  it('counts each disconnect by the kind its cause gave, whatever its text says', async () => {
    const t = (ts = await startServer(operConfig()));
    const oper = await client(t.port, 'oper');
    await operUp(oper);
    const quitter = await client(t.port, 'quitter');
    quitter.send('QUIT :K-lined for being banned'); // the kind decides, not the words
    await quitter.waitClosed();
    const victim = await client(t.port, 'victim');
    oper.send('KILL victim :Quit: spam');
    await victim.waitClosed();
    const dropper = await client(t.port, 'dropper');
    dropper.close();
    expect(await waitUntil(() => t.server.stats.disconnects.closed === 1, 3000)).toBe(true);
    ts = undefined;
    await t.stop(); // the oper goes with the shutdown
    expect(t.server.stats.disconnects).toEqual({ ...zeroes, quit: 1, kill: 1, closed: 1, shutdown: 1 });
  });

  it('follows Prometheus conventions: ircd_ prefix, _total counters, bounded labels', async () => {
    const t = await startWithMetrics();
    const c = await client(t.port, 'carol');
    const { text } = await scrape(t);
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as const);
    const ours = types.filter(([name]) => name.startsWith('ircd_'));
    expect(ours.length).toBeGreaterThanOrEqual(20);
    for (const [name, type] of ours) {
      if (type === 'counter') expect(name).toMatch(/_total$/);
      else expect(name).not.toMatch(/_total$/);
    }
    // Default Node metrics are there too (event loop lag, heap, GC).
    for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_gc_duration_seconds'])
      expect(types.map(([n]) => n)).toContain(name);
    // No client-chosen values appear as labels.
    expect(text).not.toContain('carol');
    for (const m of text.matchAll(/^ircd_\w+\{([^}]*)\}/gm)) {
      for (const label of m[1]!.matchAll(/(\w+)="/g)) expect(['listener', 'tls', 'reason', 'command', 'mechanism', 'result', 'le', 'version', 'state']).toContain(label[1]);
    }
    c.close();
  });

  it('shows SASL counts only for the mechanisms offered', async () => {
    ts = await startServer({ metrics: { enabled: true, address: '127.0.0.1', port: 0 }, sasl: { mechanisms: ['PLAIN'] } });
    const names = (series: Map<string, number>) =>
      [...series.keys()].filter((k) => k.startsWith('ircd_sasl_authentications_total{')).map((k) => /mechanism="([^"]+)"/.exec(k)![1]);
    expect(new Set(names((await scrape(ts)).series))).toEqual(new Set(['PLAIN']));
  });

  it('counts REHASH results', async () => {
    const t = await startWithMetrics();
    expect((await t.server.rehash('test')).ok).toBe(true);
    const { series } = await scrape(t);
    expect(series.get('ircd_rehashes_total{result="success"}')).toBe(1);
    expect(series.get('ircd_rehashes_total{result="failure"}')).toBe(0);
  });

  it('answers 404 elsewhere and 405 to other methods', async () => {
    const t = await startWithMetrics();
    expect((await fetch(url(t, '/'))).status).toBe(404);
    const post = await fetch(url(t, '/metrics'), { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('stays off unless enabled', async () => {
    ts = await startServer();
    expect(ts.server.http).toBeUndefined();
  });
});

describe('/healthz', () => {
  it('is 200 with a small JSON body while running', async () => {
    const t = await startWithMetrics();
    const c = await client(t.port, 'dave');
    c.send('JOIN #health');
    await c.waitFor('366');
    const ok = await fetch(url(t, '/healthz'));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/json');
    const body = (await ok.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'ok', clients: 1, channels: 1, version: t.server.version });
    expect(body.uptime_seconds).toEqual(expect.any(Number));
    c.close();
  });

  // stop() closes the endpoint as soon as the clients are gone, so these states are checked on a
  // server that is really not started yet, and on one that really is stopping.
  it('is 503 "starting" before start() has finished and 503 "stopping" once stop() began', async () => {
    const raw = testConfig();
    const server = new Server(validateConfig(raw, join(ROOT, 'ircd.toml')), 'unused.toml', pino({ level: 'silent' }), allModules());
    const endpoint = await startHttp(server, { enabled: true, address: '127.0.0.1', port: 0, max_connections: 4 });
    try {
      const get = () => fetch(`http://127.0.0.1:${endpoint.port}/healthz`);
      const starting = await get();
      expect(starting.status).toBe(503);
      expect(await starting.json()).toMatchObject({ status: 'starting', clients: 0 });

      const t = await startWithMetrics();
      expect(health(t.server).code).toBe(200);
      const stopping = t.server.stop('bye', 200);
      expect(health(t.server)).toMatchObject({ code: 503, body: { status: 'stopping' } });
      const probe = await startHttp(t.server, { enabled: true, address: '127.0.0.1', port: 0, max_connections: 4 });
      const during = await fetch(`http://127.0.0.1:${probe.port}/healthz`);
      await probe.close();
      expect(during.status).toBe(503);
      expect(await during.json()).toMatchObject({ status: 'stopping' });
      await stopping;
      ts = undefined;
      await expect(fetch(url(t, '/healthz'))).rejects.toThrow(); // the endpoint is closed with the server
    } finally {
      await endpoint.close();
    }
  });
});

describe('deploy/ dashboard and alert rules', () => {
  it('use only metric names a live server exports', async () => {
    const t = await startWithMetrics();
    const { text } = await scrape(t);
    const exported = new Set<string>();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      exported.add(m[1]!);
      if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(m[1]! + s);
      if (m[2] === 'summary') for (const s of ['_sum', '_count']) exported.add(m[1]! + s);
    }
    for (const file of ['deploy/grafana/ircd-dashboard.json', 'deploy/prometheus/ircd-alerts.yml']) {
      const source = readFileSync(join(ROOT, file), 'utf8');
      const used = new Set([...source.matchAll(/\b(?:ircd|nodejs|process)_[a-z0-9_]+/g)].map((m) => m[0]));
      expect(used.size, file).toBeGreaterThan(5);
      for (const name of used) expect(exported, `${file} uses ${name}`).toContain(name);
    }
    JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/ircd-dashboard.json'), 'utf8'));
  });
});
