// Server linking over TS6 (networks of this server's own daemons, with Solanum and Atheme). State's
// events become TS6 lines to the linked servers (network.ts has the links, inbound.ts what they
// send, dialect.ts what each understands).
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md
import type { Message } from '../../protocol/message.js';
import { ERR } from '../../protocol/numerics.js';
import { answeredElsewhere } from '../../server/hunt.js';
import type { Module } from '../../server/module.js';
import type { Server } from '../../server/server.js';
import { serverSlot } from '../../server/slots.js';
import type { User } from '../../server/user.js';
import { formatModeChanges } from '../channels/modeparse.js';
import { audit } from '../oper.js';
import { banLine, unbanLine } from './bans.js';
import { linkStats, watchLinkEvents } from './events.js';
import { applyLine } from './inbound.js';
import { userIds } from './ids.js';
import { inviteToLinks } from './invites.js';
import { Network } from './network.js';
import { networkLine } from './opers.js';
import { forwardQuery } from './remote.js';
import { redactToLinks, relayToLinks, subscribeRealname } from './tags.js';
import { agentBurst, initNetworkSasl } from './sasl.js';
import { staysHome } from './services.js';

export const networkOf = serverSlot<Network>('link');

/** Subscribes the links to State: each change made here, or applied from one link, goes to the others. */
function subscribe(server: Server, net: Network): void {
  const events = server.state.events;
  const idle = () => net.links.size === 0;
  const src = (user: User | undefined) => (user ? net.uid(user) : net.sid);

  events.on('userIntroduced', ({ client }) => {
    if (!idle()) for (const line of net.userLines(client)) net.broadcast(line);
  });
  events.on('nickChanged', ({ client }) => {
    if (!client.registered) return;
    // The nick's timestamp is kept while unlinked too: a later link's collisions compare it.
    const ids = net.ids(client);
    if (!net.from) ids.ts = Math.floor(Date.now() / 1000);
    if (idle() || net.saving) return;
    net.broadcast({ source: net.uid(client), command: 'NICK', params: [client.nick, String(ids.ts)] });
  });
  events.on('userQuit', ({ client, reason }) => {
    const ids = userIds.get(client);
    if (ids) net.byUid.delete(ids.uid);
    if (net.splitting || idle()) return;
    const uid = ids?.uid ?? net.uid(client);
    // A user of another server that did not quit there (a KILL here, a nick collision) is killed everywhere.
    // KILL's reason is "<path> (<reason>)" (ts6.md "KILL"): our "Killed (<by> (<why>))" read back into it.
    const killed = /^Killed \((\S+) \((.*)\)\)$/s.exec(reason);
    if (ids?.home && net.linkToward(ids.home) !== net.from)
      net.broadcast({ source: net.sid, command: 'KILL', params: [uid, killed ? `${killed[1]} (${killed[2]})` : `${server.name} (${reason})`] });
    else net.broadcast({ source: uid, command: 'QUIT', params: [reason] });
  });
  events.on('userModeChanged', ({ client, letter, on }) => {
    if (client.registered && !idle()) net.broadcast({ source: net.uid(client), command: 'MODE', params: [net.uid(client), (on ? '+' : '-') + letter] });
  });
  // Logins after the burst: ENCAP SU, as services send it (no account: logged out).
  events.on('accountChanged', ({ client }) => {
    if (!client.registered || idle()) return;
    const account = client.account;
    net.broadcast({ source: net.sid, command: 'ENCAP', params: ['*', 'SU', net.uid(client), ...(account === undefined ? [] : [account])] });
  });
  events.on('awayChanged', ({ client }) => {
    if (idle()) return;
    net.broadcast({ source: net.uid(client), command: 'AWAY', params: client.away === undefined ? [] : [client.away] });
  });
  events.on('hostChanged', ({ client }) => {
    if (client.registered && !idle()) net.broadcast({ source: net.sid, command: 'CHGHOST', params: [net.uid(client), client.host] });
  });
  events.on('joined', ({ channel, client }) => {
    if (idle() || !client.registered) return;
    const held = channel.members.get(client) ?? '';
    // A new channel (or a join with a prefix) goes as SJOIN, which carries the modes and the prefix.
    if (held || channel.members.size === 1) for (const line of net.sjoinLines(channel, [[client, held]])) net.broadcast(line);
    else net.broadcast({ source: net.uid(client), command: 'JOIN', params: [String(net.channelTs(channel)), channel.name, '+'] });
  });
  events.on('parted', ({ channel, client, reason }) => {
    if (!idle()) net.broadcast({ source: net.uid(client), command: 'PART', params: reason === undefined ? [channel.name] : [channel.name, reason] });
  });
  events.on('kicked', ({ channel, client, by, reason }) => {
    if (!idle()) net.broadcast({ source: src(by), command: 'KICK', params: [channel.name, net.uid(client), reason] });
  });
  events.on('topicChanged', ({ channel, by }) => {
    if (idle()) return;
    const topic = channel.topic;
    if (by) net.broadcast({ source: net.uid(by), command: 'TOPIC', params: [channel.name, topic?.text ?? ''] });
    else if (topic) net.broadcast({ source: net.sid, command: 'TB', params: [channel.name, String(topic.setAt), topic.setBy, topic.text] });
  });
  events.on('channelModeChanged', ({ channel, by, changes }) => {
    if (idle()) return;
    const prefixModes = server.prefixes.modes;
    // Prefix modes name members by UID on links.
    const wire = changes.map((c) => {
      if (c.param === undefined || !prefixModes.includes(c.mode)) return c;
      const member = server.state.findNick(c.param);
      return member ? { ...c, param: net.uid(member) } : c;
    });
    net.broadcast({ source: src(by), command: 'TMODE', params: [String(net.channelTs(channel)), channel.name, ...formatModeChanges(wire)] });
  });
  events.on('serverLinked', ({ server: entry }) => {
    if (!idle()) for (const line of net.serverLines(entry)) net.broadcast(line);
  });
  events.on('serverSplit', ({ server: entry, reason, servers }) => {
    for (const s of servers) {
      if (!s.sid) continue;
      net.bySid.delete(s.sid);
      net.gcaps.delete(s.sid);
    }
    if (!idle() && entry.sid) net.broadcast({ source: net.sidOf(entry.uplink ?? server.state.me), command: 'SQUIT', params: [entry.sid, reason] });
  });
}

/** CONNECT <server> [<port> <remote server>]: links a [[link]] block's server now, here or from the server named (its autoconnect need not be on). */
function handleConnect(server: Server, client: User, msg: Message): void {
  if (answeredElsewhere(server, client, msg, 2)) return;
  const net = networkOf.get(server);
  const cfg = server.config.link.find((l) => l.name.toLowerCase() === msg.params[0]!.toLowerCase());
  if (!net || !cfg) return client.numeric(ERR.NOSUCHSERVER, msg.params[0]!, 'No link block for that server');
  if (server.state.findServer(cfg.name)) return client.fromServer('NOTICE', [client.nick, `*** ${cfg.name} is already linked`]);
  audit(server, client, 'connect', { server: cfg.name });
  net.connectTo(cfg);
  client.fromServer('NOTICE', [client.nick, `*** Connecting to ${cfg.name} (${cfg.address}:${cfg.port})`]);
}

/** SQUIT <server> [:<reason>]: drops the link to a server linked to this one. */
function handleSquit(server: Server, client: User, msg: Message): void {
  const net = networkOf.get(server);
  const target = server.state.findServer(msg.params[0]!);
  const via = target && net?.byPeer.get(target);
  if (!net || !via) return client.numeric(ERR.NOSUCHSERVER, msg.params[0]!, 'No server of that name is linked to this one');
  const reason = msg.params[1] || `SQUIT by ${client.nick}`;
  audit(server, client, 'squit', { server: target.name, reason });
  net.drop(via, reason);
}

export const link: Module = {
  name: 'link',
  commands: {
    CONNECT: {
      handler: handleConnect,
      minParams: 1,
      privilege: 'routing',
      help: [
        'CONNECT <server> [<port> <remote server>]',
        'Links the server of a [[link]] block now (operators with the "routing" privilege); with a remote server, that server links it (from its own [[link]] block: the port is ignored).',
      ],
    },
    SQUIT: {
      handler: handleSquit,
      minParams: 1,
      privilege: 'routing',
      help: ['SQUIT <server> [:<reason>]', 'Drops the link to a server linked to this one (operators with the "routing" privilege).'],
    },
  },
  hooks: {
    // [[link]] blocks added, changed or removed (network.ts rehashed).
    rehashed(server) {
      networkOf.get(server)?.rehashed();
    },
    invited(server, by, target, channel) {
      const net = networkOf.get(server);
      if (net) inviteToLinks(net, by, target, channel);
    },
    // Bans set here go to the network; one applied from a link is passed on as it came (link/bans.ts).
    banAdded(server, ban, by) {
      const net = networkOf.get(server);
      if (net && !net.from) net.broadcast(banLine(net, ban, by));
    },
    banRemoved(server, kind, mask, by) {
      const net = networkOf.get(server);
      if (net && !net.from) net.broadcast(unbanLine(net, kind, mask, by));
    },
    networkMessage(server, kind, from, text, letter) {
      const net = networkOf.get(server);
      if (net && !net.from) net.broadcast(networkLine(net, kind, from, text, letter));
    },
    // Messages are not State changes: each relayed one goes to the links of its recipients (tags.ts).
    messageRelayed(server, sender, target, out, multiline) {
      const net = networkOf.get(server);
      if (net) relayToLinks(net, sender, target, out, multiline);
    },
    messageHeld(server, sender, channel, out) {
      const net = networkOf.get(server);
      if (net) relayToLinks(net, sender, channel, out, undefined, true);
    },
    messageRedacted(server, by, to, msgid, reason) {
      const net = networkOf.get(server);
      if (net) redactToLinks(net, by, to, msgid, reason);
    },
  },
  init(server) {
    if (!server.config.server.sid) return;
    const net = new Network(server, { applyLine, staysHome, agentBurst });
    networkOf.set(server, net);
    server.acceptServer = (socket, listener) => net.accept(socket, listener);
    server.forwardQuery = (client, to, msg, at) => forwardQuery(net, client, to, msg, at);
    server.stats.links = () => linkStats(net);
    watchLinkEvents(server);
    subscribe(server, net);
    subscribeRealname(net);
    initNetworkSasl(server, net);
  },
  async start(server) {
    networkOf.get(server)?.start();
  },
  close(server) {
    networkOf.get(server)?.stop();
  },
};
