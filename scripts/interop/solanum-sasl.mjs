// Client side of the "sasl" layout of scripts/interop/solanum.sh: Solanum uses our daemon's
// SaslServ ([sasl] serve_network) as its SASL agent, and offers the mechanisms it tells. A client
// of Solanum logs in by SASL PLAIN with an account of ours (900, 903), the login shows on our side
// (WHOIS 330), and a wrong password is refused (904).
//
//   node solanum-sasl.mjs <Solanum's client port> <our client port> <account> <password>
//
// Prints one line per step; exits 1 at the first step that fails (after 10 seconds).
import { client, step } from './irc-client.mjs';

const [theirPort, ourPort, account, password] = process.argv.slice(2);
const plain = (pass) => Buffer.from(`${account}\0${account}\0${pass}`).toString('base64');

/** A client of Solanum that asks for sasl and sends AUTHENTICATE PLAIN with <pass>. */
async function authenticate(nick, pass) {
  const c = client(theirPort, nick, ['sasl']);
  await c.wait(/ CAP \S+ ACK :?sasl/);
  c.send('AUTHENTICATE PLAIN');
  await c.wait(/^(:\S+ )?AUTHENTICATE \+$/);
  c.send(`AUTHENTICATE ${plain(pass)}`);
  return c;
}

const watcher = client(ourPort, 'watcher');
const probe = client(theirPort, 'probe');
await step('both clients registered', async () => {
  await watcher.wait(/ 001 /);
  await probe.wait(/ 001 /);
});
await step('Solanum sees our SaslServ as a network service (WHOIS 313)', async () => {
  for (let i = 0; ; i++) {
    const from = probe.lines.length;
    probe.send('WHOIS SaslServ');
    await probe.wait(/ 318 /);
    if (probe.lines.slice(from).some((l) => / 313 \S+ SaslServ /.test(l))) break;
    if (i === 50) throw new Error(`no 313 for SaslServ; last lines:\n  ${probe.lines.slice(-6).join('\n  ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});
await step('Solanum offers our mechanisms in its sasl capability (our MECHLIST)', async () => {
  probe.send('CAP LS 302');
  const line = await probe.wait(/ CAP \S+ LS .*\bsasl\b/);
  if (!/\bsasl=PLAIN,EXTERNAL,SCRAM-SHA-256\b/.test(line)) throw new Error(`sasl without our mechanisms: ${line}`);
});
await step('SASL PLAIN on Solanum against our accounts (900, 903)', async () => {
  const c = await authenticate('saslok', password);
  const logged = await c.wait(/ 90[0-9] /);
  if (!new RegExp(` 900 \\S+ \\S+ ${account} `).test(logged)) throw new Error(`expected 900 for ${account}, got: ${logged}`);
  await c.wait(/ 903 /);
  c.send('CAP END');
  await c.wait(/ 001 /);
});
await step('the login shows on our side (WHOIS 330)', async () => {
  for (let i = 0; ; i++) {
    const from = watcher.lines.length;
    watcher.send('WHOIS saslok');
    await watcher.wait(/ 318 /);
    if (watcher.lines.slice(from).some((l) => new RegExp(` 330 \\S+ saslok ${account} `).test(l))) break;
    if (i === 50) throw new Error(`no 330 for saslok; last lines:\n  ${watcher.lines.slice(-6).join('\n  ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});
await step('a wrong password is refused (904)', async () => {
  const c = await authenticate('saslbad', 'not-the-password');
  const answer = await c.wait(/ 90[0-9] /);
  if (!/ 904 /.test(answer)) throw new Error(`expected 904, got: ${answer}`);
});
process.exit(0);
