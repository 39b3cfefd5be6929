// What the server says of itself at registration and VERSION: the ISUPPORT tokens (005) and the
// mode letters of RPL_MYINFO (004), derived from the config and the loaded modules.
import type { User } from './user.js';
import { derivedFrom } from './derived.js';
import type { Module } from './module.js';
import type { Server } from './server.js';

export interface ModeLetters {
  user: string;
  channel: string;
  channelWithParam: string;
}

export class Isupport {
  /** Rebuilt when REHASH replaces the config (every registration reads them). */
  private readonly derived: () => { tokens: string[]; modes: ModeLetters };

  constructor(private readonly server: Server) {
    this.derived = derivedFrom(
      () => server.config,
      () => ({ tokens: this.buildIsupport(), modes: this.buildModeLetters() }),
    );
  }

  /** ISUPPORT tokens from the config and the loaded modules, e.g. "NICKLEN=30". */
  tokens(): string[] {
    return this.derived().tokens;
  }

  private buildIsupport(): string[] {
    const { config, modules, router } = this.server;
    const tokens: string[] = [];
    for (const m of modules) {
      for (const [k, v] of Object.entries(m.isupport?.(config) ?? {})) tokens.push(v === true ? k : `${k}=${v}`);
    }
    const targmax = [...router.commands]
      .filter(([, def]) => def.targets)
      .map(([name, def]) => `${name}:${def.targets!.limit === 'limited' ? config.limits.max_targets : ''}`);
    if (targmax.length) tokens.push(`TARGMAX=${targmax.join(',')}`);
    return tokens;
  }

  /** Sends 005 lines, at most 13 tokens each. */
  send(client: User): void {
    const tokens = this.tokens();
    for (let i = 0; i < tokens.length; i += 13) client.numeric('005', ...tokens.slice(i, i + 13), 'are supported by this server');
  }

  /** Mode letters of all modules for RPL_MYINFO. */
  modeLetters(): ModeLetters {
    return this.derived().modes;
  }

  private buildModeLetters(): ModeLetters {
    const { config, modules } = this.server;
    const collect = (pick: (m: Module) => string | undefined) =>
      [...new Set(modules.flatMap((m) => [...(pick(m) ?? '')]))].sort().join('');
    return {
      user: collect((m) => (m.modes?.user ?? '') + Object.keys(m.userModes ?? {}).join('')),
      channel: collect((m) => (m.modes?.channel ?? '') + (m.configModes?.(config).channel ?? '')),
      channelWithParam: collect((m) => (m.modes?.channelWithParam ?? '') + (m.configModes?.(config).channelWithParam ?? '')),
    };
  }
}
