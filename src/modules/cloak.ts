// Host cloaking ([cloaking] enabled): user mode +x shows a keyed hash instead of the real host.
// New users get it when default_on is set; toggling it later goes through CHGHOST (State.setHost, announced by the chghost module).
// Spec: none for the cloak itself (as on Solanum and InspIRCd); 396 RPL_HOSTHIDDEN: https://defs.ircdocs.horse/defs/numerics
import { cloakHost } from '../auth/cloak.js';
import { RPL } from '../protocol/numerics.js';
import type { User } from '../server/user.js';
import type { Module } from '../server/module.js';
import type { Server } from '../server/server.js';
import { changeUserModes } from './usermodes.js';

export const CLOAK_MODE = 'x';

function cloakFor(server: Server, client: User): string {
  const c = server.config.cloaking;
  return cloakHost(c.secret, client.realHost, c.prefix);
}

/** Shows the cloak or the real host after registration and says so (396 RPL_HOSTHIDDEN). */
function showHost(server: Server, client: User, cloaked: boolean): void {
  const host = cloaked ? cloakFor(server, client) : client.realHost;
  server.state.setHost(client, host);
  client.numeric(RPL.HOSTHIDDEN, host, cloaked ? 'is now your displayed host' : 'is now your displayed host (uncloaked)');
}

export const cloak: Module = {
  name: 'cloak',
  userModes: {
    [CLOAK_MODE]: {
      userMayChange: (server) => server.config.cloaking.enabled,
      changed: (server, client, adding) => {
        if (client.registered) showHost(server, client, adding);
      },
    },
  },
  hooks: {
    // Before the welcome burst, so nobody ever sees the real host of a cloaked user.
    registering: (server, client) => {
      const c = server.config.cloaking;
      if (!c.enabled || !c.default_on) return;
      server.state.setUserMode(client, CLOAK_MODE, true);
      server.state.setHost(client, cloakFor(server, client));
    },
    registered: (_server, client) => {
      if (client.modes.has(CLOAK_MODE)) client.numeric(RPL.HOSTHIDDEN, client.host, 'is now your displayed host');
    },
    rehashed: (server, old) => {
      const now = server.config.cloaking;
      if (now.enabled && now.secret === old.cloaking.secret && now.prefix === old.cloaking.prefix) return;
      for (const client of server.registeredClients()) {
        if (!client.modes.has(CLOAK_MODE)) continue;
        if (now.enabled) showHost(server, client, true);
        else changeUserModes(server, client, [{ letter: CLOAK_MODE, adding: false }]);
      }
    },
  },
};
