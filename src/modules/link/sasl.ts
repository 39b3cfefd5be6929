// SASL across a network (TS6 ENCAP SASL), both ways. A server without accounts of its own
// ([accounts] enabled = false) relays its clients' AUTHENTICATE to the network's SASL agent (the
// service named [sasl] agent: Atheme's SaslServ, or ours) and applies its answers, as Solanum
// does. A server with [sasl] serve_network is that agent: it introduces the agent pseudo-user to
// its links and answers other servers' clients from its own accounts, logging them in with
// SVSLOGIN.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md ("SASL", "SVSLOGIN") ·
// https://ircv3.net/specs/extensions/sasl-3.1
import { addressKey } from '../../protocol/mask.js';
import { ERR, RPL } from '../../protocol/numerics.js';
import type { Server } from '../../server/server.js';
import type { ServerEntry } from '../../server/state.js';
import { serverSlot, userSlot } from '../../server/slots.js';
import type { User } from '../../server/user.js';
import type { Message } from '../../protocol/message.js';
import { beginExchange, continueExchange, mechanisms, saslRelay, type SaslParty, type Session } from '../sasl.js';
import type { Network } from './network.js';

/** Relayed exchanges (or agent exchanges) under way at once; past it the oldest is forgotten. */
const MAX_EXCHANGES = 4096;

// ---- relaying this server's clients to the network's agent ------------------------------------

/** A local client's relayed exchange: the agent answering it, and the response bytes relayed so far. */
const relayed = userSlot<{ agent: User; sent: number }>();

/** The relaying side's clients by UID, while their exchange runs (a client still registering is not in Network.byUid). */
const pendingClients = serverSlot<Map<string, User>>('link-sasl-relay');

function pending(net: Network): Map<string, User> {
  return pendingClients.getOrCreate(net.server, () => new Map());
}

/** The mechanisms the services' agent offers, from its "ENCAP * MECHLIST :<list>". */
const mechlists = serverSlot<{ list: string }>('link-sasl-mechlist');

/** Services tell which mechanisms their agent offers (kept when it looks like a list of names). */
export function setMechlist(net: Network, list: string): void {
  if (list.length <= 200 && /^[A-Z0-9_-]+(,[A-Z0-9_-]+)*$/.test(list)) mechlists.set(net.server, { list });
}

/** A client of this server with a relayed exchange, by the UID the agent knows it by. */
export function saslClient(net: Network, uid: string): User | undefined {
  const client = pending(net).get(uid);
  if (client?.session.conn.closed) {
    pending(net).delete(uid);
    return undefined;
  }
  return client;
}

/** The network's SASL agent: a service of another server with the [sasl] agent nick. */
function findAgent(net: Network): User | undefined {
  const state = net.server.state;
  const agent = state.findNick(net.server.config.sasl.agent);
  return agent && state.isService(agent) && state.serverOf(agent) !== state.me ? agent : undefined;
}

function toAgent(net: Network, client: User, agent: User, mode: string, ...data: string[]): void {
  const via = net.linkOfUser(agent);
  const home = net.server.state.serverOf(agent);
  if (via?.phase === 'up') return net.send(via, { source: net.sid, command: 'ENCAP', params: [home.name, 'SASL', net.ids(client).uid, net.uid(agent), mode, ...data] });
  // The agent left (a split) in the middle of the exchange.
  if (!relayed.get(client) || mode === 'D') return;
  endRelay(net, client);
  client.numeric(ERR.SASLFAIL, 'SASL authentication failed: the SASL agent is gone');
}

function endRelay(net: Network, client: User): void {
  relayed.delete(client);
  pending(net).delete(net.ids(client).uid);
}

/** AUTHENTICATE from a client of this server, which has no accounts: on to the agent. */
function authenticate(net: Network, client: User, arg: string): void {
  const exchange = relayed.get(client);
  if (arg === '*') {
    if (exchange) {
      toAgent(net, client, exchange.agent, 'D', 'A');
      endRelay(net, client);
    }
    client.numeric(ERR.SASLABORTED, 'SASL authentication aborted');
    return;
  }
  if (exchange) {
    // The bound on a response holds for relayed ones too ([sasl] max_response).
    exchange.sent += arg.length;
    if (exchange.sent <= net.server.config.sasl.max_response) return toAgent(net, client, exchange.agent, 'C', arg);
    toAgent(net, client, exchange.agent, 'D', 'A');
    endRelay(net, client);
    client.numeric(ERR.SASLFAIL, 'SASL authentication failed: response too long');
    return;
  }
  const agent = findAgent(net);
  if (!agent) {
    client.numeric(ERR.SASLFAIL, 'SASL authentication failed: the network has no SASL agent now');
    return;
  }
  const uid = net.ids(client).uid;
  const map = pending(net);
  if (map.size >= MAX_EXCHANGES) map.delete(map.keys().next().value!);
  map.set(uid, client);
  relayed.set(client, { agent, sent: 0 });
  const fp = client.session.conn.certFingerprint;
  toAgent(net, client, agent, 'H', client.host, client.ip, client.secure ? 'S' : 'P');
  toAgent(net, client, agent, 'S', arg, ...(fp ? [fp] : []));
}

/** The agent's answer to a relayed exchange: "C <data>", "D S|F", "M <mechanisms>". */
function fromAgent(net: Network, origin: ServerEntry, agentUid: string, clientUid: string, mode: string, data: string): void {
  const client = saslClient(net, clientUid);
  const exchange = client && relayed.get(client);
  // Only the agent the exchange went to answers it.
  if (!client || !exchange || net.uid(exchange.agent) !== agentUid || net.server.state.serverOf(exchange.agent) !== origin) return;
  if (mode === 'C') return client.fromServer('AUTHENTICATE', [data]);
  if (mode === 'M') return client.numeric(RPL.SASLMECHS, data, 'are available SASL mechanisms');
  if (mode !== 'D') return;
  endRelay(net, client);
  if (data === 'S') client.numeric(RPL.SASLSUCCESS, 'SASL authentication successful');
  else client.numeric(ERR.SASLFAIL, 'SASL authentication failed');
}

// ---- answering other servers' clients (this server is the agent) ----------------------------

/** Another server's client asking this server: its address (from "H") and, once started, its party. */
interface AgentExchange {
  ip: string | undefined;
  party: SaslParty | undefined;
}

const agentClients = serverSlot<Map<string, AgentExchange>>('link-sasl-agent');

function agentExchanges(net: Network): Map<string, AgentExchange> {
  return agentClients.getOrCreate(net.server, () => new Map());
}

/** Starts remembering an exchange (the oldest is forgotten past the bound). */
function remember(map: Map<string, AgentExchange>, uid: string, exchange: AgentExchange): void {
  map.delete(uid);
  if (map.size >= MAX_EXCHANGES) map.delete(map.keys().next().value!);
  map.set(uid, exchange);
}

/** This server's agent pseudo-user, when it answers SASL for the network. */
function ownAgent(net: Network): User | undefined {
  const server = net.server;
  if (!server.config.sasl.serve_network) return undefined;
  const agent = server.state.findNick(server.config.sasl.agent);
  return agent && server.state.isService(agent) && server.state.serverOf(agent) === server.state.me ? agent : undefined;
}

function reply(net: Network, origin: ServerEntry, agentUid: string, clientUid: string, command: string, params: string[]): void {
  const via = net.linkToward(origin);
  if (via) net.send(via, { source: net.sid, command: 'ENCAP', params: [origin.name, command, ...(command === 'SASL' ? [agentUid, clientUid] : [clientUid]), ...params] });
}

/** A party for another server's client: what this server's SASL code says goes back as ENCAP SASL. */
function remoteParty(net: Network, origin: ServerEntry, agentUid: string, clientUid: string, ip: string | undefined, fp: string | undefined): SaslParty {
  const send = (mode: string, data: string) => reply(net, origin, agentUid, clientUid, 'SASL', [mode, data]);
  const forget = () => agentExchanges(net).delete(clientUid);
  let session: Session | undefined;
  return {
    // Failures count against the client's address (an IPv6 /64, as for clients here), or its server when that is not known.
    limitKey: ip ? addressKey(ip) : `server:${origin.name}`,
    ip: ip ?? origin.name,
    logId: clientUid,
    certFingerprint: fp,
    get session() {
      return session;
    },
    set session(s) {
      session = s;
    },
    gone: () => !net.linkToward(origin) || !agentExchanges(net).has(clientUid),
    challenge: (chunk) => send('C', chunk),
    succeeded(account) {
      forget();
      reply(net, origin, agentUid, clientUid, 'SVSLOGIN', ['*', '*', '*', account]);
      send('D', 'S');
      net.server.log.info({ uid: clientUid, server: origin.name, account }, 'logged in a client of another server (SASL agent)');
    },
    failed() {
      forget();
      send('D', 'F');
    },
    mechanisms: (list) => send('M', list),
  };
}

/** In this server's burst as the agent: the mechanisms it offers, which the other servers advertise in their sasl capability (as services send it). */
export function agentBurst(net: Network): Message[] {
  return ownAgent(net) ? [{ source: net.sid, command: 'ENCAP', params: ['*', 'MECHLIST', mechanisms(net.server)] }] : [];
}

/** "SASL <client uid> <agent uid> <mode> [data] [ext]" for this server as the agent: H (host), S (start), C (data), D (done). */
function asAgent(net: Network, origin: ServerEntry, agentUid: string, args: readonly string[]): void | Promise<void> {
  const [clientUid = '', , mode = '', data = '', ext] = args;
  // The client's own server asks (its UID starts with that server's SID).
  if (!origin.sid || !clientUid.startsWith(origin.sid)) return;
  const map = agentExchanges(net);
  const exchange = map.get(clientUid);
  switch (mode) {
    case 'H':
      remember(map, clientUid, { ip: args[4], party: undefined });
      return;
    case 'S': {
      const party = remoteParty(net, origin, agentUid, clientUid, exchange?.ip, ext);
      remember(map, clientUid, { ip: exchange?.ip, party });
      return beginExchange(net.server, party, data);
    }
    case 'C': {
      const session = exchange?.party?.session;
      if (!exchange?.party || !session || data.length > 400) return;
      return continueExchange(net.server, exchange.party, session, data);
    }
    case 'D':
      map.delete(clientUid);
      return;
    default:
      return;
  }
}

/** ENCAP SASL addressed to this server: a question for this server as the agent, or an answer for a relayed client. */
export function saslFromLink(net: Network, origin: ServerEntry, args: readonly string[]): void {
  const [first = '', second = '', mode = '', data = ''] = args;
  // Questions name the client first and this server's agent second; answers the agent first.
  const agent = ownAgent(net);
  if (!agent || second !== net.uid(agent)) return fromAgent(net, origin, first, second, mode, data);
  const done = asAgent(net, origin, second, args);
  if (done) done.catch((err: unknown) => net.server.log.error({ err: err instanceof Error ? err.stack : String(err) }, 'SASL agent exchange failed'));
}

/** Sets up both roles at the link module's init. */
export function initNetworkSasl(server: Server, net: Network): void {
  const cfg = server.config;
  if (!cfg.accounts.enabled) {
    saslRelay.set(server, {
      authenticate: (client, arg) => authenticate(net, client, arg),
      mechanisms: () => mechlists.get(server)?.list,
      abort(client) {
        const exchange = relayed.get(client);
        if (!exchange) return false;
        toAgent(net, client, exchange.agent, 'D', 'A');
        endRelay(net, client);
        return true;
      },
    });
  }
  if (cfg.sasl.serve_network) {
    server.introduceSessionlessUser({ nick: cfg.sasl.agent, user: 'sasl', host: server.name, realname: 'SASL authentication agent', ip: '127.0.0.1', service: true });
  }
}
