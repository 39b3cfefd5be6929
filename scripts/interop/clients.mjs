// Client side of the interop check (scripts/interop/solanum.sh): one client on each of two linked
// servers; each step does something on one side and waits to see it on the other. Then an
// operator on our server splits the link (SQUIT) and links it again (CONNECT), and the other
// side's user must quit with the split and come back.
//
//   node clients.mjs <our client port> <their client port> <their server name> <link to split> <oper name> <oper password>
//
// <link to split> is a server linked directly to ours, on the path to theirs.
//
// Prints one line per step; exits 1 at the first step that fails (after 10 seconds).
import { client, step } from './irc-client.mjs';

const [ourPort, theirPort, theirName, splitName, operName, operPass] = process.argv.slice(2);

const ours = client(ourPort, 'ouruser');
const theirs = client(theirPort, 'theiruser');
const op = client(ourPort, 'ouroper');
await step('both clients registered', async () => {
  await ours.wait(/ 001 /);
  await theirs.wait(/ 001 /);
  await op.wait(/ 001 /);
});
await step('each side sees the other user (WHOIS)', async () => {
  // A new user reaches the other side a moment later: asked again until it has.
  for (const [c, nick, server] of [[ours, 'theiruser', theirName], [theirs, 'ouruser', undefined]]) {
    for (let i = 0; ; i++) {
      const from = c.lines.length;
      c.send(`WHOIS ${nick}`);
      await c.wait(/ 318 /);
      const where = c.lines.slice(from).find((l) => new RegExp(` 312 \\S+ ${nick} `).test(l));
      if (where && (!server || where.split(' ')[4] === server)) break;
      if (i === 50) throw new Error(`${nick} is not seen (on ${server ?? 'their server'})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});
await step('JOIN seen across', async () => {
  ours.send('JOIN #interop');
  await ours.wait(/ 366 /);
  // Their JOIN waits until the channel reached their server (else it would make one of its own there).
  for (let i = 0; ; i++) {
    const from = theirs.lines.length;
    theirs.send('NAMES #interop');
    await theirs.wait(/ 366 /);
    if (theirs.lines.slice(from).some((l) => / 353 .*ouruser/.test(l))) break;
    if (i === 50) throw new Error('the channel never reached their server');
    await new Promise((r) => setTimeout(r, 100));
  }
  theirs.send('JOIN #interop');
  await theirs.wait(/ 353 .*ouruser/);
  await ours.wait(/^:theiruser!\S+ JOIN :?#interop/);
});
await step('channel PRIVMSG both ways', async () => {
  ours.send('PRIVMSG #interop :hello from ours');
  await theirs.wait(/^:ouruser!\S+ PRIVMSG #interop :hello from ours$/);
  theirs.send('PRIVMSG #interop :hello from theirs');
  await ours.wait(/^:theiruser!\S+ PRIVMSG #interop :hello from theirs$/);
});
await step('private PRIVMSG both ways', async () => {
  ours.send('PRIVMSG theiruser :direct from ours');
  await theirs.wait(/^:ouruser!\S+ PRIVMSG theiruser :direct from ours$/);
  theirs.send('PRIVMSG ouruser :direct from theirs');
  await ours.wait(/^:theiruser!\S+ PRIVMSG ouruser :direct from theirs$/);
});
await step('channel MODE (+o, +m, +b) both ways', async () => {
  ours.send('MODE #interop +o theiruser');
  await theirs.wait(/ MODE #interop \+o theiruser$/);
  theirs.send('MODE #interop +mb bad!*@*');
  await ours.wait(/ MODE #interop \+mb bad!\*@\*$/);
});
await step('TOPIC both ways', async () => {
  theirs.send('TOPIC #interop :topic from theirs');
  await ours.wait(/ TOPIC #interop :topic from theirs$/);
  ours.send('TOPIC #interop :topic from ours');
  await theirs.wait(/ TOPIC #interop :topic from ours$/);
});
await step('NICK both ways', async () => {
  ours.send('NICK ournew');
  await theirs.wait(/^:ouruser!\S+ NICK :?ournew$/);
  theirs.send('NICK theirnew');
  await ours.wait(/^:theiruser!\S+ NICK :?theirnew$/);
});
await step('SQUIT: the other side’s user quits with the split', async () => {
  op.send(`OPER ${operName} ${operPass}`);
  await op.wait(/ 381 /);
  op.send(`SQUIT ${splitName} :interop split`);
  await ours.wait(/^:theirnew!\S+ QUIT :/);
});
await step('CONNECT: relinked, the user and the channel are back', async () => {
  // The other side needs a moment to forget us: a CONNECT at once may hear "already exists".
  await new Promise((r) => setTimeout(r, 1000));
  op.send(`CONNECT ${splitName}`);
  await ours.wait(/^:theirnew!\S+ JOIN :?#interop/);
  ours.send('PRIVMSG #interop :after the relink');
  await theirs.wait(/^:ournew!\S+ PRIVMSG #interop :after the relink$/);
});
await step('QUIT seen across', async () => {
  theirs.send('QUIT :bye from theirs');
  await ours.wait(/^:theirnew!\S+ QUIT :.*bye from theirs/);
});
await step('a nick taken on both sides during a split is resolved by SAVE at the relink, nobody killed', async () => {
  op.send(`SQUIT ${splitName} :collision test`);
  await op.wait(/ NOTICE | ERROR |SQUIT/i).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 1000));
  const left = client(ourPort, 'twin');
  const right = client(theirPort, 'twin');
  await left.wait(/ 001 /);
  await right.wait(/ 001 /);
  op.send(`CONNECT ${splitName}`);
  const saved = () => [...left.lines, ...right.lines].find((l) => / 043 /.test(l));
  for (let i = 0; !saved(); i++) {
    if (i === 100) throw new Error(`no SAVE (043); last lines:\n  ${[...left.lines.slice(-4), ...right.lines.slice(-4)].join('\n  ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 1000));
  const killed = [...left.lines, ...right.lines].find((l) => / KILL |^ERROR /.test(l));
  if (killed) throw new Error(`killed: ${killed}`);
  console.log(`     (${saved()})`);
  for (const c of [left, right]) c.sock.destroy();
});
for (const c of [ours, theirs, op]) c.sock.destroy();
