// A module's per-server state, and the store under it, read before the server started them: one
// error naming what is missing, for every module.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { allModules } from '../../src/modules/index.js';
import { bansOf } from '../../src/modules/bans.js';
import { PerServer } from '../../src/server/per-server.js';
import { Server } from '../../src/server/server.js';
import { testConfig } from '../support/harness.js';

function unstarted(): Server {
  const config = validateConfig(testConfig(), '/tmp/per-server-test.toml');
  return new Server(config, '/tmp/per-server-test.toml', pino({ level: 'silent' }), allModules());
}

describe('PerServer', () => {
  it('keeps one value per server, and names the module when read before init', () => {
    const a = unstarted();
    const b = unstarted();
    const state = new PerServer<string>('example');
    state.set(a, 'for a');
    expect(state.get(a)).toBe('for a');
    expect(() => state.get(b)).toThrow('the example module was used before the server started it');
    expect(state.remove(a)).toBe('for a');
    expect(state.remove(a)).toBeUndefined();
    expect(() => state.get(a)).toThrow(/example module/);
  });

  it('is how modules and the server report a store that is not open', async () => {
    const server = unstarted();
    expect(() => server.db).toThrow('the store is opened by Server.start(), which has not run');
    expect(() => bansOf(server)).toThrow('the bans module was used before the server started it');
    await server.start();
    expect(bansOf(server).size).toBe(0);
    await server.stop('test over', 0);
    expect(() => bansOf(server)).toThrow(/bans module/);
  });
});
