// Hostnames for connecting clients ([dns] enabled): the lookup starts when the connection is
// accepted and registration waits for it (User.hostLookup); failures fall back to the IP.
// Spec: https://modern.ircdocs.horse/#connection-setup
import { resolveHostname } from '../net/dns.js';
import type { Module } from '../server/module.js';

export const hostname: Module = {
  name: 'hostname',
  hooks: {
    connected: (server, client) => {
      const dns = server.config.dns;
      if (!dns.enabled) return;
      const notice = (text: string) => client.fromServer('NOTICE', ['*', text]);
      notice('*** Looking up your hostname...');
      const ip = client.ip;
      // Held now: once the connection closes, the user has no session to ask for it.
      const conn = client.session.conn;
      client.hostLookup = resolveHostname(ip, dns.timeout * 1000)
        .then((name) => {
          // A WEBIRC gateway may have told the user's real address (and host) meanwhile.
          if (conn.closed || conn.ip !== ip) return;
          if (!name) return notice("*** Couldn't look up your hostname");
          client.realHost = name;
          server.state.setHost(client, name);
          notice('*** Found your hostname');
        })
        .finally(() => {
          client.hostLookup = undefined;
        });
    },
  },
};
