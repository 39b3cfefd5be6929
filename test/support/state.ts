// Test helpers that shape server state directly, for features whose tests need channels or opers
// without depending on the modules that normally create them (JOIN, OPER).
import type { User } from '../../src/server/user.js';
import type { Server } from '../../src/server/server.js';

export function serverClient(server: Server, nick: string): User {
  const c = server.state.findNick(nick);
  if (!c) throw new Error(`no client ${nick}`);
  return c;
}

/** Puts a user in a channel with the given prefix modes and flags, and runs the `joined` hooks. */
export function putInChannel(server: Server, nick: string, name: string, opts: { prefixes?: string; flags?: string } = {}): void {
  const flags = [...(opts.flags ?? '')];
  const { channel, created } = server.state.getOrCreateChannel(name, flags);
  if (!created) {
    server.state.changeChannelModes(channel, undefined, (writes) => {
      const applied = flags.filter((f) => !channel.flags.has(f)).map((mode) => ({ add: true, mode }));
      for (const { mode } of applied) writes.setChannelFlag(channel, mode, true);
      return { applied };
    });
  }
  const client = serverClient(server, nick);
  server.state.addMember(channel, client, opts.prefixes ?? '');
  server.emit('joined', client, channel);
}

/** Makes a user an operator holding the given privileges, as OPER would. */
export function makeOper(server: Server, nick: string, privileges: string[] = []): void {
  const client = serverClient(server, nick);
  client.oper = { name: 'test', privileges: new Set(privileges) };
  server.state.setUserMode(client, 'o', true);
}
