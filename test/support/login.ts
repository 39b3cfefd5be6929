// Test helpers: a client that registers logged in to an account (created if missing) with SASL PLAIN,
// for features keyed by account (chat history of direct messages, read markers); the client side
// of SCRAM-SHA-256.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { makeCredentials, saltPassword } from '../../src/auth/scram.js';
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

/** The client side of SCRAM-SHA-256, written out here so the test checks the server independently. */
export async function scramLogin(c: TestClient, user: string, password: string): Promise<{ result: string; serverVerified: boolean }> {
  const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
  const nonce = randomBytes(12).toString('base64');
  const bare = `n=${user},r=${nonce}`;
  c.send('AUTHENTICATE SCRAM-SHA-256');
  await c.waitFor((m) => m.command === 'AUTHENTICATE' && m.params[0] === '+');
  c.send(`AUTHENTICATE ${Buffer.from(`n,,${bare}`).toString('base64')}`);
  const challenge = await c.waitFor((m) => m.command === 'AUTHENTICATE' || m.command === '904');
  if (challenge.command === '904') return { result: '904', serverVerified: false };
  const serverFirstText = Buffer.from(challenge.params[0]!, 'base64').toString();
  const attrs = Object.fromEntries(serverFirstText.split(',').map((a) => [a[0], a.slice(2)]));
  expect(attrs.r!.startsWith(nonce)).toBe(true);
  const salted = await saltPassword(password, Buffer.from(attrs.s!, 'base64'), Number(attrs.i));
  const clientKey = hmac(salted, 'Client Key');
  const storedKey = createHash('sha256').update(clientKey).digest();
  const withoutProof = `c=biws,r=${attrs.r}`;
  const auth = `${bare},${serverFirstText},${withoutProof}`;
  const signature = hmac(storedKey, auth);
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
  c.send(`AUTHENTICATE ${Buffer.from(`${withoutProof},p=${proof.toString('base64')}`).toString('base64')}`);
  const final = await c.waitFor((m) => m.command === 'AUTHENTICATE' || m.command === '904');
  if (final.command === '904') return { result: '904', serverVerified: false };
  const expected = `v=${hmac(hmac(salted, 'Server Key'), auth).toString('base64')}`;
  const serverVerified = Buffer.from(final.params[0]!, 'base64').toString() === expected;
  c.send('AUTHENTICATE +');
  return { result: (await c.waitFor((m) => m.command === '903' || m.command === '904')).command, serverVerified };
}
