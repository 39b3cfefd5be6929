// IRCv3 capabilities that need no commands of their own: server-time, batch, labeled-response
// and standard-replies are honoured by the core (Outgoing, Router); sts and UTF8ONLY are policy.
// Spec: https://ircv3.net/specs/extensions/server-time · https://ircv3.net/specs/extensions/batch · https://ircv3.net/specs/extensions/labeled-response · https://ircv3.net/specs/extensions/message-tags · https://ircv3.net/specs/extensions/echo-message
import type { Module } from '../server/module.js';

export const ircv3: Module = {
  name: 'ircv3',
  caps: [
    { name: 'server-time' },
    { name: 'batch' },
    { name: 'labeled-response' },
    { name: 'standard-replies' },
    {
      // Strict Transport Security: plain connections learn the TLS port, TLS ones the policy duration.
      // Enabled only with a TLS listener whose certificate verifies (checked at start and REHASH).
      name: 'sts',
      offered: (server) => server.config.sts.enabled,
      value: (server, client) => {
        const sts = server.config.sts;
        if (client.secure) return `duration=${sts.duration}${sts.preload ? ',preload' : ''}`;
        const port = sts.port ?? [...server.listeners.values()].find((l) => l.cfg.tls)?.port;
        return `port=${port}`;
      },
    },
  ],
  isupport: (cfg): Record<string, true> => (cfg.server.utf8only ? { UTF8ONLY: true } : {}),
};
