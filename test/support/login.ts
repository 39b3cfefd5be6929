// Test helper: a client that registers logged in to an account (created if missing) with SASL PLAIN,
// for features keyed by account (chat history of direct messages, read markers).
import { makeCredentials } from '../../src/auth/scram.js';
import { accountStore } from '../../src/modules/accounts.js';
import type { Server } from '../../src/server/server.js';
import { TestClient } from './harness.js';

export async function loggedInClient(server: Server, port: number, nick: string, account: string, caps: string[] = []): Promise<TestClient> {
  const store = accountStore(server);
  if (!store.get(account)) store.create(account, await makeCredentials('sesame', 4096), undefined);
  const c = await TestClient.connect(port);
  c.nick = nick;
  await saslLogin(c, account, caps);
  c.send('CAP END');
  c.send(`NICK ${nick}`);
  c.send(`USER ${nick.toLowerCase().slice(0, 9)} 0 * :Test User`);
  await c.waitFor((m) => m.command === '376' || m.command === '422');
  return c;
}

/** Requests sasl (and `caps`) and logs in with SASL PLAIN; capability negotiation stays open. */
export async function saslLogin(c: TestClient, account: string, caps: string[] = [], password = 'sesame'): Promise<void> {
  c.send('CAP LS 302');
  c.send(`CAP REQ :${['sasl', ...caps].join(' ')}`);
  await c.waitFor((m) => m.command === 'CAP' && m.params[1] === 'ACK');
  c.send('AUTHENTICATE PLAIN');
  await c.waitFor((m) => m.command === 'AUTHENTICATE');
  c.send(`AUTHENTICATE ${Buffer.from(`\0${account}\0${password}`).toString('base64')}`);
  await c.waitFor('903');
}
