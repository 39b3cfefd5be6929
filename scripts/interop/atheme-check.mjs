// The client side of scripts/interop/atheme.sh: talks to our daemon on 127.0.0.1:$PORT while
// Atheme is linked to it, and checks what users of Atheme's services expect. Prints one line a
// step; exits 1 at the first step that fails (irc-client.mjs's step).
import { client, step } from './irc-client.mjs';

const PORT = Number(process.env.PORT);

const PASS = 'interop-secret-1';
const alice = client(PORT, 'alice');
await alice.wait(/ 001 /);

await step('Atheme links and its NickServ shows as a network service (WHOIS 313)', async () => {
  for (let i = 0; ; i++) {
    alice.send('WHOIS NickServ');
    const line = await alice.wait(/ (313|401|318) /);
    if (line.includes(' 313 ')) return;
    if (i > 40) throw new Error('NickServ never appeared');
    await new Promise((r) => setTimeout(r, 250));
  }
});

await step('NickServ REGISTER logs the user in (900 from ENCAP SU)', async () => {
  alice.send(`PRIVMSG NickServ :REGISTER ${PASS} alice@example.org`);
  await alice.wait(/ 900 alice /);
});

await step('ChanServ REGISTER registers the channel', async () => {
  alice.send('JOIN #interop');
  await alice.wait(/ 366 /);
  alice.send('PRIVMSG ChanServ :REGISTER #interop');
  await alice.wait(/NOTICE alice :.*registered/i, 'registration notice');
});

await step('ChanServ GUARD: ChanServ joins the channel with +o (SJOIN from services)', async () => {
  alice.send('PRIVMSG ChanServ :SET #interop GUARD ON');
  await alice.wait(/^:ChanServ!\S+ JOIN #interop/);
  await alice.wait(/ MODE #interop \+o ChanServ/);
});

await step('MLOCK: a mode locked by ChanServ is refused (742)', async () => {
  alice.send('PRIVMSG ChanServ :SET #interop MLOCK +nt-s');
  await alice.wait(/NOTICE alice :.*MLOCK/i, 'MLOCK notice');
  alice.send('MODE #interop -n');
  await alice.wait(/ 742 alice #interop n /);
});

const bob = client(PORT, 'bob');
await bob.wait(/ 001 /);

await step('NickServ IDENTIFY from another client (900)', async () => {
  bob.send(`PRIVMSG NickServ :IDENTIFY alice ${PASS}`);
  await bob.wait(/ 900 bob /);
});

await step('ChanServ OP gives the founder +o', async () => {
  bob.send('JOIN #interop');
  await bob.wait(/ 366 /);
  bob.send('PRIVMSG ChanServ :OP #interop');
  await bob.wait(/^:ChanServ!\S+ MODE #interop \+o bob/);
});

await step('SASL PLAIN relayed to SaslServ (900, 903)', async () => {
  const carol = client(PORT, 'carol', ['sasl']);
  await carol.wait(/CAP \* ACK/);
  carol.send('AUTHENTICATE PLAIN');
  await carol.wait(/^AUTHENTICATE \+|:\S+ AUTHENTICATE \+/);
  carol.send('AUTHENTICATE ' + Buffer.from(`alice\0alice\0${PASS}`).toString('base64'));
  await carol.wait(/ 900 /);
  await carol.wait(/ 903 /);
  carol.send('CAP END');
  await carol.wait(/ 001 /);
  carol.close();
});

await step('SASL PLAIN with a wrong password fails (904)', async () => {
  const dave = client(PORT, 'dave', ['sasl']);
  await dave.wait(/CAP \* ACK/);
  dave.send('AUTHENTICATE PLAIN');
  await dave.wait(/AUTHENTICATE \+/);
  dave.send('AUTHENTICATE ' + Buffer.from(`alice\0alice\0wrong-password`).toString('base64'));
  await dave.wait(/ 904 /);
  dave.close();
});
alice.close();
bob.close();
process.exit(0);
