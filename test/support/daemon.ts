// Test support: the daemon as a real process, run from the build (dist/src/main.js, so
// `npx tsc -p tsconfig.build.json` first), for what an in-process server cannot show: kill -9,
// restarts, signals, exit statuses, startup failures and the command line.
import { spawn, spawnSync, type ChildProcess, type SpawnSyncOptionsWithStringEncoding, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { freePort, sleep, TestClient, testConfig, toToml, type RawConfig } from './harness.js';

/** The built entry point. */
export const MAIN = join(__dirname, '../../dist/src/main.js');

/** Runs `ircd ARGS` to its end (a subcommand, or a start that must fail); `prefix` goes before node (e.g. setpriv). */
export function runIrcd(args: string[], opts: Partial<SpawnSyncOptionsWithStringEncoding> & { prefix?: string[] } = {}): SpawnSyncReturns<string> {
  const { prefix = [], ...options } = opts;
  const [cmd, ...rest] = [...prefix, process.execPath, MAIN, ...args];
  return spawnSync(cmd!, rest, { encoding: 'utf8', ...options });
}

/** A temp folder for a daemon: its MOTD, a loopback port that was free a moment ago, and its config path. */
export interface DaemonFiles {
  dir: string;
  port: number;
  config: string;
}

/**
 * Makes a temp folder with a MOTD and writes `testConfig` listening on a free port, with `patch`
 * (whole sections; a function gets the folder, for paths in it) to `ircd.toml` there.
 */
export async function daemonFiles(patch: RawConfig | ((dir: string) => RawConfig) = {}): Promise<DaemonFiles> {
  const dir = mkdtempSync(join(tmpdir(), 'ircd-daemon-'));
  writeFileSync(join(dir, 'motd.txt'), 'Test MOTD line 1\nline 2\n');
  const port = await freePort();
  const config = join(dir, 'ircd.toml');
  const extra = typeof patch === 'function' ? patch(dir) : patch;
  writeFileSync(config, toToml(testConfig({ listen: [{ address: '127.0.0.1', port }], ...extra })));
  return { dir, port, config };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Daemon {
  child: ChildProcess;
  /** Settles when the process has exited (it was listened for from the start). */
  exited: Promise<Exit>;
  /** Sends `signal`; resolves with the exit (awaiting it is optional). */
  kill(signal: NodeJS.Signals): Promise<Exit>;
  /** What it wrote to stdout (its log), so far; empty when `out` was given. */
  stdout(): string;
  /** stdout and stderr as they came, so far; empty when `out` was given. */
  output(): string;
}

export interface SpawnOptions {
  /** Environment of the process (default: the test run's). */
  env?: NodeJS.ProcessEnv;
  /** A file descriptor for stdout and stderr instead of collecting them. */
  out?: number;
}

export interface Daemons {
  /** Starts `ircd --config CONFIG` as a process. */
  spawn(config: string, opts?: SpawnOptions): Daemon;
  /** A connection (TLS with `tls`) to a daemon just started, retrying for 10 s until it listens. */
  connectWhenUp(port: number, opts?: { tls?: boolean }): Promise<TestClient>;
}

/**
 * Call at the top level of a test file (or a describe): after each test, the connections made by
 * connectWhenUp are closed and every daemon still running is killed (SIGKILL) and waited for.
 */
export function useDaemons(): Daemons {
  const daemons: Daemon[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    const running = daemons.splice(0).filter((d) => d.child.exitCode === null && d.child.signalCode === null);
    await Promise.all(running.map((d) => d.kill('SIGKILL')));
  });
  return {
    spawn(config, opts = {}) {
      const out = opts.out ?? 'pipe';
      const child = spawn(process.execPath, [MAIN, '--config', config], { stdio: ['ignore', out, out], env: opts.env ?? process.env });
      let stdout = '';
      let output = '';
      child.stdout?.setEncoding('utf8');
      child.stderr?.setEncoding('utf8');
      child.stdout?.on('data', (d: string) => {
        stdout += d;
        output += d;
      });
      child.stderr?.on('data', (d: string) => (output += d));
      const exited = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
      const daemon: Daemon = {
        child,
        exited,
        kill(signal) {
          child.kill(signal);
          return exited;
        },
        stdout: () => stdout,
        output: () => output,
      };
      daemons.push(daemon);
      return daemon;
    },
    async connectWhenUp(port, opts = {}) {
      for (let i = 0; i < 100; i++) {
        try {
          const c = await (opts.tls ? TestClient.connectTls(port) : TestClient.connect(port));
          clients.push(c);
          return c;
        } catch {
          await sleep(100);
        }
      }
      throw new Error(`nothing listening on ${port}`);
    },
  };
}
