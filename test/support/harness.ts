// Test support: a real server on a loopback port (port 0) and raw IRC clients over sockets.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { pino } from 'pino';
import { afterEach } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { allModules } from '../../src/modules/index.js';
import { createLogger } from '../../src/observability/log.js';
import { parseMessage, type Message } from '../../src/protocol/message.js';
import { Server } from '../../src/server/server.js';

export type RawConfig = Record<string, unknown>;

/** A permissive test config; `patch` replaces whole top-level sections. */
export function testConfig(patch: RawConfig = {}): RawConfig {
  return {
    server: { name: 'irc.test', network: 'TestNet', motd: 'motd.txt' },
    listen: [{ address: '127.0.0.1', port: 0 }],
    class: [
      {
        name: 'default',
        max_per_ip: 100,
        flood: { burst: 1000, rate: 1000 },
        recvq: 65536,
        // Tests open many connections from 127.0.0.1 at once; throttling has its own tests.
        connect_rate: { count: 1000, seconds: 1 },
      },
    ],
    allow: [{ mask: '*', class: 'default' }],
    log: { level: "silent" },
    store: { path: ":memory:" },
    ...patch,
  };
}

export interface TestServer {
  server: Server;
  port: number;
  dir: string;
  configPath: string;
  stop(): Promise<void>;
}

/** Writes the config (and a MOTD) into a temp folder and starts the server in this process. */
export async function startServer(patch: RawConfig = {}, files: Record<string, string> = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ircd-test-'));
  writeFileSync(join(dir, 'motd.txt'), 'Test MOTD line 1\nline 2\n');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const raw = testConfig(patch);
  const configPath = join(dir, 'ircd.toml');
  writeFileSync(configPath, toToml(raw));
  const config = validateConfig(raw, configPath);
  // Silent unless a test asks for logs with a [log] section (level, destination).
  const log = config.log.level === 'silent' ? pino({ level: 'silent' }) : createLogger(config.log);
  const server = new Server(config, configPath, log, allModules());
  await server.start();
  const port = [...server.listeners.values()][0]!.port;
  return { server, port, dir, configPath, stop: () => server.stop('test over', 200) };
}

/** A fresh SQLite store file (not yet created) in a temp folder of its own. */
export function storeFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'ircd-store-')), 'ircd.db');
}

/**
 * In-process servers a test file starts, stops and starts again on the same store (restarts),
 * and the clients it connects to them: whatever is still running is closed after each test.
 */
export function useServers() {
  let servers: TestServer[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const srv of servers.splice(0)) await srv.stop();
  });
  return {
    async start(patch: RawConfig = {}): Promise<TestServer> {
      const srv = await startServer(patch);
      servers.push(srv);
      return srv;
    },
    /** Stops one now, its clients closed first (a restart's first half). */
    async stop(srv: TestServer): Promise<void> {
      servers = servers.filter((s) => s !== srv);
      for (const c of clients.splice(0)) c.close();
      await srv.stop();
    },
    /** Closes `c` after the test (or at the next stop). */
    track<C extends TestClient>(c: C): C {
      clients.push(c);
      return c;
    },
  };
}

/** Enough TOML for test configs (tables, arrays of tables, inline values). */
export function toToml(raw: RawConfig): string {
  const value = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(value).join(', ')}]`;
    if (v !== null && typeof v === 'object')
      return `{ ${Object.entries(v)
        .map(([k, x]) => `${JSON.stringify(k)} = ${value(x)}`)
        .join(', ')} }`;
    return JSON.stringify(v);
  };
  let out = '';
  for (const [section, body] of Object.entries(raw)) {
    if (Array.isArray(body)) {
      for (const item of body) {
        out += `[[${section}]]\n`;
        for (const [k, v] of Object.entries(item as object)) out += `${JSON.stringify(k)} = ${value(v)}\n`;
      }
    } else {
      out += `[${section}]\n`;
      for (const [k, v] of Object.entries(body as object)) out += `${JSON.stringify(k)} = ${value(v)}\n`;
    }
  }
  return out;
}

/** A raw IRC client that records every line and lets tests wait for specific ones. */
export class TestClient {
  readonly lines: string[] = [];
  private buffer = '';
  private waiters: Array<() => void> = [];
  closed = false;
  nick = '';
  /** Called with each line as it arrives (a fake server answering PINGs). */
  onLine: ((line: string) => void) | undefined;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let i: number;
      while ((i = this.buffer.indexOf('\r\n')) !== -1) {
        const line = this.buffer.slice(0, i);
        this.lines.push(line);
        this.buffer = this.buffer.slice(i + 2);
        this.onLine?.(line);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  static connect(port: number, opts: { localAddress?: string } = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, localAddress: opts.localAddress }, () => resolve(new TestClient(s)));
      s.once('error', reject);
    });
  }

  static connectTls(port: number, opts: ConnectionOptions = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts }, () => resolve(new TestClient(s)));
      s.once('error', reject);
    });
  }

  send(line: string): void {
    this.socket.write(line + '\r\n');
  }

  sendRaw(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Index to pass to `waitFor` so only lines after this point count. */
  get mark(): number {
    return this.lines.length;
  }

  /**
   * Waits for a line matching `match` (a command/numeric, or a predicate on the parsed message),
   * looking at lines from index `from` on. Resolves with the message; consumed lines stay recorded.
   */
  async waitFor(match: string | ((m: Message, raw: string) => boolean), opts: { from?: number; timeout?: number } = {}): Promise<Message> {
    const pred = typeof match === 'string' ? (m: Message) => m.command === match : match;
    const deadline = Date.now() + (opts.timeout ?? 3000);
    let i = opts.from ?? this.cursor;
    for (;;) {
      for (; i < this.lines.length; i++) {
        const raw = this.lines[i]!;
        const m = parseMessage(raw);
        if (pred(m, raw)) {
          this.cursor = i + 1;
          return m;
        }
      }
      if (this.closed) throw new Error(`connection closed while waiting for ${String(match)}; got:\n${this.lines.slice(-15).join('\n')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${String(match)}; last lines:\n${this.lines.slice(-15).join('\n')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Position after the last line returned by waitFor; the default start of the next wait. */
  cursor = 0;

  /** Sends a PING and returns every message received before its PONG. */
  async collectUntilPong(token = `sync${Math.random().toString(36).slice(2)}`): Promise<Message[]> {
    const start = this.lines.length;
    this.send(`PING ${token}`);
    await this.waitFor((m) => m.command === 'PONG' && m.params[1] === token, { from: start });
    return this.lines
      .slice(start, this.cursor - 1)
      .map((l) => parseMessage(l))
      .filter((m) => !(m.command === 'PONG' && m.params[1] === token));
  }

  /** Sends a line and returns everything the server answered to it (earlier lines are skipped). */
  async ask(line: string): Promise<Message[]> {
    await this.collectUntilPong();
    this.send(line);
    return this.collectUntilPong();
  }

  /** Waits until the server closes the connection. */
  async waitClosed(timeout = 3000): Promise<void> {
    const deadline = Date.now() + timeout;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('connection still open');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async register(nick: string, opts: { caps?: string[]; user?: string; realname?: string } = {}): Promise<void> {
    this.nick = nick;
    if (opts.caps?.length) {
      this.send('CAP LS 302');
      this.send(`CAP REQ :${opts.caps.join(' ')}`);
      await this.waitFor((m) => m.command === 'CAP' && (m.params[1] === 'ACK' || m.params[1] === 'NAK'));
      this.send('CAP END');
    }
    this.send(`NICK ${nick}`);
    this.send(`USER ${opts.user ?? nick.toLowerCase().slice(0, 9)} 0 * :${opts.realname ?? 'Test User'}`);
    await this.waitFor('001');
    await this.waitFor((m) => m.command === '376' || m.command === '422');
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Connects and registers a client. */
export async function client(port: number, nick: string, opts: Parameters<TestClient['register']>[1] = {}): Promise<TestClient> {
  const c = await TestClient.connect(port);
  await c.register(nick, opts);
  return c;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 25 ms until it holds or `timeout` ms pass; returns its last value. */
export async function waitUntil(cond: () => boolean, timeout: number): Promise<boolean> {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline && !cond()) await sleep(25);
  return cond();
}

/** A loopback port that was free a moment ago (for configs a child process will listen on). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Every capability CAP LS 302 offers, over all its lines (a long list is split with "*"). */
export async function capLs(c: TestClient): Promise<string[]> {
  const caps: string[] = [];
  for (;;) {
    const m = await c.waitFor((m) => m.command === 'CAP' && m.params[1] === 'LS');
    caps.push(...m.params.at(-1)!.split(' '));
    if (m.params[2] !== '*') return caps;
  }
}
