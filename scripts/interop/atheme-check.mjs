// The client side of scripts/interop/atheme.sh: talks to our daemon on 127.0.0.1:$PORT while
// Atheme is linked to it, and checks what users of Atheme's services expect. Prints one line a
// step; exits 1 at the first step that fails.
import { connect } from 'node:net';

const PORT = Number(process.env.PORT);
const STEP_MS = 15000;

function client(nick, caps = []) {
  const sock = connect(PORT, '127.0.0.1');
  const lines = [];
  let waiters = [];
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\r\n')) !== -1) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (line.startsWith('PING ')) sock.write('PONG ' + line.slice(5) + '\r\n');
      lines.push(line);
      waiters = waiters.filter((w) => !w(line));
    }
  });
  const c = {
    send: (line) => sock.write(line + '\r\n'),
    /** The first line (already received or to come) that matches, or a rejection after STEP_MS. */
    wait(re, what) {
      const seen = lines.findIndex((l) => re.test(l));
      if (seen !== -1) return Promise.resolve(lines.splice(0, seen + 1).pop());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${nick}: no ${what ?? re} within ${STEP_MS} ms; last lines:\n  ${lines.slice(-8).join('\n  ')}`)), STEP_MS);
        waiters.push((line) => {
          if (!re.test(line)) return false;
          clearTimeout(timer);
          lines.length = 0;
          resolve(line);
          return true;
        });
      });
    },
    close: () => sock.end('QUIT :done\r\n'),
  };
  if (caps.length) c.send(`CAP REQ :${caps.join(' ')}`);
  return c;
}

let failed = false;
async function step(name, fn) {
  try {
    await fn();
    console.log(`PASS ${name}`);
  } catch (err) {
    console.log(`FAIL ${name}\n  ${err.message}`);
    failed = true;
    throw err;
  }
}

const PASS = 'interop-secret-1';
try {
  const alice = client('alice');
  alice.send('NICK alice');
  alice.send('USER alice 0 * :Alice');
  await alice.wait(/ 001 /, '001');

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
    await alice.wait(/ 900 alice /, '900');
  });

  await step('ChanServ REGISTER registers the channel', async () => {
    alice.send('JOIN #interop');
    await alice.wait(/ 366 /, 'end of NAMES');
    alice.send('PRIVMSG ChanServ :REGISTER #interop');
    await alice.wait(/NOTICE alice :.*registered/i, 'registration notice');
  });

  await step('ChanServ GUARD: ChanServ joins the channel with +o (SJOIN from services)', async () => {
    alice.send('PRIVMSG ChanServ :SET #interop GUARD ON');
    await alice.wait(/^:ChanServ!\S+ JOIN #interop/, 'ChanServ JOIN');
    await alice.wait(/ MODE #interop \+o ChanServ/, 'MODE +o ChanServ');
  });

  await step('MLOCK: a mode locked by ChanServ is refused (742)', async () => {
    alice.send('PRIVMSG ChanServ :SET #interop MLOCK +nt-s');
    await alice.wait(/NOTICE alice :.*MLOCK/i, 'MLOCK notice');
    alice.send('MODE #interop -n');
    await alice.wait(/ 742 alice #interop n /, '742');
  });

  const bob = client('bob');
  bob.send('NICK bob');
  bob.send('USER bob 0 * :Bob');
  await bob.wait(/ 001 /, '001');

  await step('NickServ IDENTIFY from another client (900)', async () => {
    bob.send(`PRIVMSG NickServ :IDENTIFY alice ${PASS}`);
    await bob.wait(/ 900 bob /, '900');
  });

  await step('ChanServ OP gives the founder +o', async () => {
    bob.send('JOIN #interop');
    await bob.wait(/ 366 /, 'end of NAMES');
    bob.send('PRIVMSG ChanServ :OP #interop');
    await bob.wait(/^:ChanServ!\S+ MODE #interop \+o bob/, 'MODE +o bob');
  });

  await step('SASL PLAIN relayed to SaslServ (900, 903)', async () => {
    const carol = client('carol', ['sasl']);
    await carol.wait(/CAP \* ACK/, 'CAP ACK');
    carol.send('NICK carol');
    carol.send('USER carol 0 * :Carol');
    carol.send('AUTHENTICATE PLAIN');
    await carol.wait(/^AUTHENTICATE \+|:\S+ AUTHENTICATE \+/, 'AUTHENTICATE +');
    carol.send('AUTHENTICATE ' + Buffer.from(`alice\0alice\0${PASS}`).toString('base64'));
    await carol.wait(/ 900 /, '900');
    await carol.wait(/ 903 /, '903');
    carol.send('CAP END');
    await carol.wait(/ 001 /, '001');
    carol.close();
  });

  await step('SASL PLAIN with a wrong password fails (904)', async () => {
    const dave = client('dave', ['sasl']);
    await dave.wait(/CAP \* ACK/, 'CAP ACK');
    dave.send('NICK dave');
    dave.send('USER dave 0 * :Dave');
    dave.send('AUTHENTICATE PLAIN');
    await dave.wait(/AUTHENTICATE \+/, 'AUTHENTICATE +');
    dave.send('AUTHENTICATE ' + Buffer.from(`alice\0alice\0wrong-password`).toString('base64'));
    await dave.wait(/ 904 /, '904');
    dave.close();
  });
  alice.close();
  bob.close();
} catch {
  // reported by step()
}
process.exit(failed ? 1 : 0);
