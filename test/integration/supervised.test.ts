// The daemon as a supervised process: RESTART exits with status 75 for systemd (simulated by
// INVOCATION_ID) to start it again, and under journald (JOURNAL_STREAM naming stdout) every log
// line carries its syslog priority.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RESTART_EXIT_STATUS } from '../../src/server/restart.js';
import { client, freePort, testConfig, toToml, waitUntil, type RawConfig } from '../support/harness.js';
import { operConfig, operUp } from '../support/oper.js';

const MAIN = join(__dirname, '../../dist/src/main.js');

let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
});

/** Writes a config for a child process listening on `port`; returns its path. */
function writeConfig(dir: string, port: number, patch: RawConfig = {}): string {
  const path = join(dir, 'ircd.toml');
  writeFileSync(join(dir, 'motd.txt'), 'hello\n');
  writeFileSync(path, toToml(testConfig(operConfig({ listen: [{ address: '127.0.0.1', port }], log: { level: 'info' }, store: { path: join(dir, 'ircd.db') }, ...patch }))));
  return path;
}

/** The environment of the test run without anything that says "supervised". */
function plainEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.INVOCATION_ID;
  delete env.NOTIFY_SOCKET;
  delete env.JOURNAL_STREAM;
  return env;
}

function exitOf(proc: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
}

describe('RESTART under systemd', () => {
  it('exits with the restart status instead of starting a copy the service would kill', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ircd-sup-'));
    const port = await freePort();
    const cfg = writeConfig(dir, port);
    child = spawn(process.execPath, [MAIN, '--config', cfg], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...plainEnv(), INVOCATION_ID: '0123456789abcdef0123456789abcdef' },
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    expect(await waitUntil(() => out.includes('"msg":"listening"'), 10000)).toBe(true);
    const exited = exitOf(child);
    const op = await client(port, 'op');
    await operUp(op);
    op.send('RESTART :upgrade');
    expect((await op.waitFor('ERROR')).params[0]).toMatch(/Restart by op: upgrade/);
    expect(await exited).toBe(RESTART_EXIT_STATUS);
    expect(out).toMatch(/"why":"systemd","status":75,"msg":"restarting: exiting for the supervisor/);
    // Nothing was left behind on the port.
    await expect(client(port, 'late')).rejects.toThrow();
  });
});

describe('journald', () => {
  it('prefixes each log line with its syslog priority when stdout is the journal stream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ircd-journal-'));
    const port = await freePort();
    const cfg = writeConfig(dir, port);
    // A file as stdout, named by JOURNAL_STREAM as systemd names the journal's socket.
    const logPath = join(dir, 'journal.out');
    const fd = openSync(logPath, 'w');
    const st = fstatSync(fd);
    child = spawn(process.execPath, [MAIN, '--config', cfg], {
      stdio: ['ignore', fd, fd],
      env: { ...plainEnv(), JOURNAL_STREAM: `${st.dev}:${st.ino}` },
    });
    closeSync(fd);
    const text = () => readFileSync(logPath, 'utf8');
    expect(await waitUntil(() => text().includes('"msg":"listening"'), 10000)).toBe(true);

    // A warning (a key needing a restart), then an error (a broken config), by SIGHUP.
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(/"path" = "[^"]*ircd\.db"/, `"path" = "${join(dir, 'other.db')}"`));
    child.kill('SIGHUP');
    expect(await waitUntil(() => text().includes('needs a restart'), 5000)).toBe(true);
    writeFileSync(cfg, '[server]\nname = "broken"\n');
    child.kill('SIGHUP');
    expect(await waitUntil(() => text().includes('rehash failed'), 5000)).toBe(true);
    const exited = exitOf(child);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    const lines = text().trimEnd().split('\n');
    const priorities = new Map<string, string>();
    for (const line of lines) {
      const m = /^<(\d)>(\{.*\})$/.exec(line);
      expect(m, `a line without its priority: ${line}`).not.toBeNull();
      const rec = JSON.parse(m![2]!) as { level: number; msg: string };
      const expected = { 60: '2', 50: '3', 40: '4', 30: '6', 20: '7', 10: '7' }[rec.level];
      expect(m![1]).toBe(expected);
      priorities.set(rec.msg, m![1]!);
    }
    expect(priorities.get('listening')).toBe('6');
    expect([...priorities].find(([msg]) => msg.includes('needs a restart'))?.[1]).toBe('4');
    expect(priorities.get('rehash failed; keeping the running configuration')).toBe('3');
  });

  it('gives a failed start its critical and error priorities', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ircd-journal-'));
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const cfg = writeConfig(dir, (taken.address() as AddressInfo).port);
    const logPath = join(dir, 'journal.out');
    const fd = openSync(logPath, 'w');
    const st = fstatSync(fd);
    child = spawn(process.execPath, [MAIN, '--config', cfg], { stdio: ['ignore', fd, fd], env: { ...plainEnv(), JOURNAL_STREAM: `${st.dev}:${st.ino}` } });
    closeSync(fd);
    expect(await exitOf(child)).toBe(1);
    taken.close();
    const lines = readFileSync(logPath, 'utf8').trimEnd().split('\n');
    expect(lines.find((l) => l.includes('"msg":"startup failed"'))).toMatch(/^<2>\{"level":60,/);
    expect(lines.find((l) => l.includes('ircd: '))).toMatch(/^<3>ircd: cannot listen on 127\.0\.0\.1:\d+: the port is already in use/);
  });

  it('leaves the lines alone when JOURNAL_STREAM names another stream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ircd-journal-'));
    const port = await freePort();
    const cfg = writeConfig(dir, port);
    child = spawn(process.execPath, [MAIN, '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...plainEnv(), JOURNAL_STREAM: '1:1' } });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    expect(await waitUntil(() => out.includes('"msg":"listening"'), 10000)).toBe(true);
    expect(out.split('\n')[0]).toMatch(/^\{"level":30,/);
  });
});
