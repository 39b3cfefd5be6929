// WEBIRC (IRCv3 WebIRC extension): a configured gateway (a web chat such as Kiwi IRC's
// webircgateway, or a bouncer) passes on the address and hostname of the user it connects for.
// From then on the connection counts as the user's: D-lines, allow blocks, per-address limits,
// K-lines and cloaks see the user's address; opers see the gateway in WHOIS (350).
// Spec: https://ircv3.net/specs/extensions/webirc
import { isIP } from 'node:net';
import { verifyPassword } from '../auth/password.js';
import type { WebircConfig } from '../config/schema.js';
import type { DisconnectKind } from '../net/disconnect.js';
import { usableHostname } from '../net/dns.js';
import { normalizeIp } from '../protocol/mask.js';
import { RPL } from '../protocol/numerics.js';
import type { User } from '../server/user.js';
import type { Module } from '../server/module.js';
import type { Server } from '../server/server.js';
import { userSlot } from '../server/slots.js';

/** Where a client came through, kept for WHOIS. */
interface Gateway {
  name: string;
  ip: string;
  host: string;
}

const gateways = userSlot<Gateway>();

export function gatewayOf(client: User): Gateway | undefined {
  return gateways.get(client);
}

/** The options parameter: "secure", "remote-port=1234", ... (values may be escaped; only names matter here). */
function optionNames(text: string | undefined): Set<string> {
  return new Set((text ?? '').split(' ').filter(Boolean).map((o) => o.split('=')[0]!.toLowerCase()));
}

async function handleWebirc(server: Server, client: User, params: string[]): Promise<void> {
  const [password, , hostname, rawIp, options] = params as [string, string, string, string, string | undefined];
  const refuse = (why: string, kind: DisconnectKind = 'other') => {
    server.log.warn({ conn: client.id, gateway: client.ip, why }, 'WEBIRC refused');
    server.disconnect(client, { kind, text: why });
  };
  // The spec wants it first: the address must be settled before anything depends on it.
  if (client.requestedNick !== undefined || client.user || client.session.capNegotiating || client.session.capVersion > 0 || client.account !== undefined)
    return refuse('WEBIRC must be the first command');
  const gatewayIp = client.ip;
  let block: WebircConfig | undefined;
  for (const b of server.admission.webircBlocksFor(gatewayIp)) {
    if (await verifyPassword(password, b.password)) {
      block = b;
      break;
    }
  }
  if (client.session.conn.closed) return;
  if (!block) return refuse('Invalid WebIRC password');
  // "0::1": IPv6 addresses starting with a colon come with a zero in front.
  const ip = normalizeIp(rawIp.startsWith('0:') && isIP(rawIp.slice(1)) === 6 ? rawIp.slice(1) : rawIp);
  if (!isIP(ip)) return refuse('Invalid IP address in WEBIRC');
  const shownIp = ip.startsWith(':') ? '0' + ip : ip;
  const host = (block.trust_hostname && usableHostname(hostname)) || shownIp;
  // A secure link only when the gateway says the user's side is TLS and its own link to us can't be read.
  const linkSafe = client.secure || gatewayIp === '127.0.0.1' || gatewayIp === '::1';
  const secure = optionNames(options).has('secure') && linkSafe;
  const gatewayHost = client.realHost;
  const refused = server.admission.readdress(client, ip, host, secure);
  if (refused) return refuse(refused.text, refused.kind);
  gateways.set(client, { name: block.name, ip: gatewayIp, host: gatewayHost });
  server.log.info({ conn: client.id, gateway: block.name, from: gatewayIp, ip, host, secure }, 'WEBIRC accepted');
}

export const webirc: Module = {
  name: 'webirc',
  commands: {
    WEBIRC: {
      internal: true,
      minParams: 4,
      preRegistration: true,
      onlyPreRegistration: true,
      handler: (server, client, msg) => handleWebirc(server, client, msg.params),
      help: ['WEBIRC <password> <gateway> <hostname> <ip> [:<options>]', "Sent by a configured WebIRC gateway first, to pass on its user's address."],
    },
  },
  hooks: {
    whois: (server, viewer, target) => {
      const gw = gatewayOf(target);
      if (!gw) return;
      const privileged = viewer === target || server.hasPrivilege(viewer, 'see_hidden');
      viewer.numeric(RPL.WHOISGATEWAY, target.nick, privileged ? gw.host : '*', privileged ? gw.ip : '*', `is connected via the ${gw.name} WebIRC gateway`);
    },
  },
};
