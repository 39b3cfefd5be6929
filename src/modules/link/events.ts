// What operators hear of the network: each link event goes to the log and, as a server notice, to
// the opers whose snomask has s (this server's links: connecting, up, refused, burst done, split)
// or x (servers joining and leaving elsewhere on the network), the letters Solanum uses.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/help/opers/snomask
import type { LinkStat } from '../../observability/stats.js';
import type { Server } from '../../server/server.js';
import { serverNotice } from '../oper.js';
import { SNO_LINKS, type Link, type Network } from './network.js';

/** Snomask letter of servers linking and splitting elsewhere on the network. */
export const SNO_REMOTE_LINKS = 'x';

/** Servers introduced and split behind a link, in the log and to the opers; this server's own links are told by Network. */
export function watchLinkEvents(server: Server): void {
  const me = server.state.me;
  server.state.events.on('serverLinked', ({ server: entry }) => {
    if (entry.uplink === me) return;
    server.log.info({ server: entry.name, sid: entry.sid, uplink: entry.uplink?.name }, 'server introduced');
    serverNotice(server, SNO_REMOTE_LINKS, `Server ${entry.name} being introduced by ${entry.uplink?.name}`);
  });
  server.state.events.on('serverSplit', ({ server: entry, reason, servers }) => {
    const direct = entry.uplink === me;
    if (!direct) server.log.warn({ server: entry.name, uplink: entry.uplink?.name, reason, servers: servers.length }, 'server split');
    const behind = servers.length > 1 ? ` and ${servers.length - 1} server(s) behind it` : '';
    serverNotice(server, direct ? SNO_LINKS : SNO_REMOTE_LINKS, `Server ${entry.name}${behind} split from ${entry.uplink?.name ?? server.name}: ${reason}`);
  });
}

/** The PONG to our burst's PING came back: the peer's burst is done. */
export function burstDone(net: Network, link: Link): void {
  link.bursting = false;
  link.burstSeconds = (Date.now() - link.upAt) / 1000;
  net.server.log.info({ link: link.name, seconds: link.burstSeconds }, 'server link burst received');
  serverNotice(net.server, SNO_LINKS, `End of burst from ${link.name} (${link.burstSeconds.toFixed(3)} seconds)`);
}

/** The links that are up, for /metrics and STATS l. */
export function linkStats(net: Network): LinkStat[] {
  const out: LinkStat[] = [];
  for (const l of net.links) {
    if (l.phase !== 'up') continue;
    const c = l.conn;
    out.push({
      server: l.name!,
      ip: c.ip,
      outgoing: l.outgoing,
      sendqBytes: c.sendqBytes,
      linesIn: c.linesIn,
      linesOut: c.linesOut,
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      connectedAt: c.connectedAt,
      burstSeconds: l.burstSeconds,
    });
  }
  return out;
}
