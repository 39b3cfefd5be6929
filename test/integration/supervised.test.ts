// The daemon as a supervised process: RESTART exits with status 75 for systemd (simulated by
// INVOCATION_ID) to start it again, and under journald (JOURNAL_STREAM naming stdout) every log
// line carries its syslog priority.
import { closeSync, fstatSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RESTART_EXIT_STATUS } from '../../src/server/restart.js';
import { daemonFiles, useDaemons } from '../support/daemon.js';
import { client, waitUntil, type RawConfig } from '../support/harness.js';
import { operConfig, operUp } from '../support/oper.js';

const daemons = useDaemons();

/** A daemon's files: opers, logging at info, its store in ircd.db, then `patch`. */
const files = (patch: RawConfig = {}) => daemonFiles((dir) => operConfig({ log: { level: 'info' }, store: { path: join(dir, 'ircd.db') }, ...patch }));

/** The environment of the test run without anything that says "supervised". */
function plainEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.INVOCATION_ID;
  delete env.NOTIFY_SOCKET;
  delete env.JOURNAL_STREAM;
  return env;
}

describe('RESTART under systemd', () => {
  it('exits with the restart status instead of starting a copy the service would kill', async () => {
    const { port, config } = await files();
    const daemon = daemons.spawn(config, { env: { ...plainEnv(), INVOCATION_ID: '0123456789abcdef0123456789abcdef' } });
    expect(await waitUntil(() => daemon.stdout().includes('"msg":"listening"'), 10000)).toBe(true);
    const op = await client(port, 'op');
    await operUp(op);
    op.send('RESTART :upgrade');
    expect((await op.waitFor('ERROR')).params[0]).toMatch(/Restart by op: upgrade/);
    expect((await daemon.exited).code).toBe(RESTART_EXIT_STATUS);
    expect(daemon.stdout()).toMatch(/"why":"systemd","status":75,"msg":"restarting: exiting for the supervisor/);
    // Nothing was left behind on the port.
    await expect(client(port, 'late')).rejects.toThrow();
  });
});

describe('journald', () => {
  it('prefixes each log line with its syslog priority when stdout is the journal stream', async () => {
    const { dir, config: cfg } = await files();
    // A file as stdout, named by JOURNAL_STREAM as systemd names the journal's socket.
    const logPath = join(dir, 'journal.out');
    const fd = openSync(logPath, 'w');
    const st = fstatSync(fd);
    const daemon = daemons.spawn(cfg, { out: fd, env: { ...plainEnv(), JOURNAL_STREAM: `${st.dev}:${st.ino}` } });
    closeSync(fd);
    const text = () => readFileSync(logPath, 'utf8');
    expect(await waitUntil(() => text().includes('"msg":"listening"'), 10000)).toBe(true);

    // A warning (a key needing a restart), then an error (a broken config), by SIGHUP.
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(/"path" = "[^"]*ircd\.db"/, `"path" = "${join(dir, 'other.db')}"`));
    daemon.child.kill('SIGHUP');
    expect(await waitUntil(() => text().includes('needs a restart'), 5000)).toBe(true);
    writeFileSync(cfg, '[server]\nname = "broken"\n');
    daemon.child.kill('SIGHUP');
    expect(await waitUntil(() => text().includes('rehash failed'), 5000)).toBe(true);
    expect((await daemon.kill('SIGTERM')).code).toBe(0);

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
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const { dir, config } = await files({ listen: [{ address: '127.0.0.1', port: (taken.address() as AddressInfo).port }] });
    const logPath = join(dir, 'journal.out');
    const fd = openSync(logPath, 'w');
    const st = fstatSync(fd);
    const daemon = daemons.spawn(config, { out: fd, env: { ...plainEnv(), JOURNAL_STREAM: `${st.dev}:${st.ino}` } });
    closeSync(fd);
    expect((await daemon.exited).code).toBe(1);
    taken.close();
    const lines = readFileSync(logPath, 'utf8').trimEnd().split('\n');
    expect(lines.find((l) => l.includes('"msg":"startup failed"'))).toMatch(/^<2>\{"level":60,/);
    expect(lines.find((l) => l.includes('ircd: '))).toMatch(/^<3>ircd: cannot listen on 127\.0\.0\.1:\d+: the port is already in use/);
  });

  it('leaves the lines alone when JOURNAL_STREAM names another stream', async () => {
    const { config } = await files();
    const daemon = daemons.spawn(config, { env: { ...plainEnv(), JOURNAL_STREAM: '1:1' } });
    expect(await waitUntil(() => daemon.stdout().includes('"msg":"listening"'), 10000)).toBe(true);
    expect(daemon.stdout().split('\n')[0]).toMatch(/^\{"level":30,/);
  });
});
