// EBMASK from a linked server: list mode entries (bans, exceptions, invite exceptions) of a
// burst with who set each and when, kept as they came; BMASK (inbound.ts) has the masks only.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md ("EBMASK", "Simple channel rules")
import type { Message } from '../../protocol/message.js';
import { applyChannelModes } from '../channels/modes.js';
import { LIST_MODES } from '../channels/modeparse.js';
import type { Network } from './network.js';

/** ":<sid> EBMASK <ts> <channel> <letter> :<mask> <when> <who> ...": applied unless our channel is older. */
export function handleEbmask(net: Network, msg: Message): void {
  const [tsText, name = '', letter = '', list = ''] = msg.params;
  const server = net.server;
  const channel = server.state.findChannel(name);
  if (!channel || Number(tsText) > net.channelTs(channel) || letter.length !== 1 || !LIST_MODES.includes(letter)) return;
  const words = list.split(' ').filter(Boolean);
  const perLine = server.config.limits.modes_per_line;
  // Entries with the same setter and time go as one change (one MODE line here), up to a line's worth.
  let run: string[] = [];
  let origin: { setBy: string; setAt: number } | undefined;
  const flush = () => {
    if (run.length) applyChannelModes(server, channel, ['+' + letter.repeat(run.length), ...run], undefined, undefined, origin);
    run = [];
  };
  for (let i = 0; i + 2 < words.length; i += 3) {
    const setAt = Number(words[i + 1]) || Math.floor(Date.now() / 1000);
    const setBy = words[i + 2]!;
    if (!origin || origin.setBy !== setBy || origin.setAt !== setAt || run.length === perLine) {
      flush();
      origin = { setBy, setAt };
    }
    run.push(words[i]!);
  }
  flush();
}
