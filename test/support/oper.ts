// Oper blocks for tests of operator features (OPER, KILL, bans, REHASH, STATS).
import { hashPassword } from '../../src/auth/password.js';
import type { RawConfig, TestClient } from './harness.js';

export const PASSWORD = 'hunter2-oper';
const HASH = hashPassword(PASSWORD);

/** Oper blocks used by these tests; `extra` adds top-level sections. */
export function operConfig(extra: RawConfig = {}, certfp: string[] = []): RawConfig {
  return {
    oper_class: [
      { name: 'admin', privileges: ['kill', 'ban', 'rehash', 'die', 'wallops', 'see_hidden'], snomask: 'bcko' },
      { name: 'helper', privileges: [], snomask: '' },
    ],
    oper: [
      { name: 'alice', password: HASH, hosts: ['*@127.0.0.1'], class: 'admin' },
      { name: 'faraway', password: HASH, hosts: ['*@10.0.0.0/8'], class: 'admin' },
      { name: 'helper', password: HASH, class: 'helper' },
      ...(certfp.length ? [{ name: 'certonly', certfp, class: 'admin' }] : []),
    ],
    ...extra,
  };
}

export async function operUp(c: TestClient, name = 'alice'): Promise<void> {
  c.send(`OPER ${name} ${PASSWORD}`);
  await c.waitFor('381');
}
