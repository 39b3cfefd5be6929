// What a feature module looks like to the server: commands, capabilities, ISUPPORT tokens, hooks.
import type { Config } from '../config/schema.js';
import type { BanKind, ServerBan } from '../store/ban-index.js';
import type { DisconnectReason } from '../net/disconnect.js';
import type { Message } from '../protocol/message.js';
import type { CapOffer } from './caps.js';
import type { Channel } from './channel.js';
import type { User } from './user.js';
import type { Outgoing } from './outgoing.js';
import type { Server } from './server.js';

export type Handler = (server: Server, client: User, msg: Message) => void | Promise<void>;

/** How many parameters a command needs: a count, or one that depends on what was sent (a subcommand). */
export type ParamCount = number | ((params: readonly string[]) => number);

/**
 * A ParamCount chosen by a subcommand: the parameter at `at`, case-insensitive, looked up in
 * `counts`; any other value (or none) needs `otherwise`. The handler answers unknown subcommands.
 */
export function bySubcommand(at: number, counts: Record<string, number>, otherwise: number): (params: readonly string[]) => number {
  const table = new Map(Object.entries(counts)); // a Map: "constructor" is no subcommand
  return (params) => table.get(params[at]?.toUpperCase() ?? '') ?? otherwise;
}

export interface CommandDef {
  handler: Handler;
  /** Parameters required before the handler runs (461 otherwise). */
  minParams?: ParamCount;
  /** A required parameter sent empty counts as missing (Modern IRC: USER with an empty realname is 461). */
  emptyIsMissing?: boolean;
  /**
   * Usable before registration completes (NICK, USER, CAP, PASS, ...); a function when that
   * depends on the config or the client (METADATA before-connect needs the capability).
   */
  preRegistration?: boolean | ((server: Server, client: User) => boolean);
  /** Only before registration (PASS, USER answer 462 afterwards). */
  onlyPreRegistration?: boolean;
  /** Oper privilege required (481 otherwise). */
  privilege?: string;
  /**
   * Flood tokens the command costs beyond the one every line costs (default 0), for commands that
   * make the server scan, hash or notify much more than a line's worth; a function when the cost
   * depends on the parameters (WHO of a mask scans every user, WHO of a nick does not).
   */
  penalty?: number | ((params: readonly string[]) => number);
  /** The comma-separated targets this command takes (see TargetList). */
  targets?: TargetList;
  /** Lines of help text; the first line is the syntax. */
  help?: string[];
  /**
   * Sent by client software rather than typed by people (CAP, PASS, AUTHENTICATE, PONG, ...):
   * the HELP overview leaves it out; HELP <command> still explains it.
   */
  internal?: boolean;
}

/**
 * A comma-separated list of targets in one parameter, advertised in ISUPPORT TARGMAX. The router
 * holds it to the limit: past it, ERR_TOOMANYTARGETS names the first target dropped and the
 * handler gets the ones before. A required list that names no target is a missing parameter.
 */
export interface TargetList {
  /** 'limited': at most [limits].max_targets; 'unlimited': no count limit of its own. */
  limit: 'limited' | 'unlimited';
  /** The parameter holding the list (default 0); a function when it moves (WHOIS [<server>] <nicks>). */
  param?: number | ((params: readonly string[]) => number);
  /**
   * A parameter whose list pairs with the targets (KICK's channels, RFC 2812): one item for all
   * of them or one per target, else 461; it is cut at the limit with them.
   */
  pairedWith?: number;
  /** Targets past the limit are dropped without ERR_TOOMANYTARGETS (NOTICE never gets automatic replies). */
  quiet?: boolean;
}

export interface Hooks {
  /** After the welcome burst of a newly registered client. */
  registered(server: Server, client: User): void;
  /** After the config is replaced by REHASH. */
  rehashed(server: Server, old: Config): void;
  /**
   * During REHASH, before `rehashed`: the names of the capabilities offered before and after it
   * (cap-notify announces the difference).
   */
  capsRehashed(server: Server, before: Set<string>, after: Set<string>): void;
  /** A REHASH (or SIGHUP) was refused; nothing changed. `source` names who asked. */
  rehashFailed(server: Server, source: string, error: string): void;
  /** An account was dropped (its casefolded name): what is kept for it goes too (its direct-message history). */
  accountDropped(server: Server, folded: string): void;
  /** After a client joined a channel. */
  joined(server: Server, client: User, channel: Channel): void;
  /** While a JOIN is answered: after the JOIN line, before topic and names (read-marker's MARKREAD goes here). */
  joinBurst(server: Server, client: User, channel: Channel): void;
  /**
   * A message that belongs in chat history (PRIVMSG, NOTICE, TAGMSG; TOPIC) passed every check
   * for one target (a channel, its name in out.msg.params[0] possibly behind a STATUSMSG prefix,
   * or a registered user) and was relayed. Emitted once per target; out.tags holds msgid and time.
   * A draft/multiline message comes with its lines; out is then its first non-blank line.
   */
  messageRelayed(server: Server, sender: User, target: Channel | User, out: Outgoing, multiline?: readonly MultilinePart[]): void;
  /** A channel message held by +U for the channel's operators (not the channel's to remember): relayed to them only. */
  messageHeld(server: Server, sender: User, channel: Channel, out: Outgoing): void;
  /** A message was deleted from history (REDACT) by `by`, in a channel or in its direct conversation with a user (`to`). */
  messageRedacted(server: Server, by: User, to: Channel | User, msgid: string, reason: string | undefined): void;
  /** A new connection became a client (not yet registered), e.g. to start a hostname lookup. */
  connected(server: Server, client: User): void;
  /** Registration passed every check; just before the welcome burst, e.g. to apply a cloak. */
  registering(server: Server, client: User): void;
  /**
   * A further session attached to a logged-in user (multiclient), after its welcome and before its
   * channels are replayed; runs as that session, so `user.send` reaches it alone.
   */
  sessionAttached(server: Server, user: User): void;
  /** In the welcome burst, after ISUPPORT and LUSERS, before the MOTD (IRCv3 metadata sends the client's own keys here). */
  welcomeBurst(server: Server, client: User): void;
  /** While WHOIS answers about `target`, before RPL_ENDOFWHOIS: lines other modules add (e.g. 760 metadata). */
  whois(server: Server, viewer: User, target: User): void;
  /**
   * A user here invited `target` to `channel` (INVITE passed its checks): a target of this server
   * has it already, one of another server is the link module's to reach.
   */
  invited(server: Server, by: User, target: User, channel: Channel): void;
  /** A server ban was set here (by an oper, the API, or a linked server): linked servers hear of it. `by` is the oper, when one set it. */
  banAdded(server: Server, ban: ServerBan, by: User | undefined): void;
  /** A server ban was removed here (as `banAdded`). */
  banRemoved(server: Server, kind: BanKind, mask: string, by: User | undefined): void;
  /**
   * A message for the opers or users of the whole network was sent here: WALLOPS (from a user or
   * the server), GLOBOPS, or a server notice with snomask `letter` meant for every server's opers.
   */
  networkMessage(server: Server, kind: 'WALLOPS' | 'GLOBOPS' | 'SNOTE', from: User | undefined, text: string, letter?: string): void;
}

export interface UserModeDef {
  /** Whether the user may change this mode themselves; false ignores the change silently (e.g. +o, set only by OPER). */
  userMayChange?(server: Server, client: User, adding: boolean): boolean;
  /** Runs after the mode was added or removed, e.g. to drop oper privileges on -o. */
  changed?(server: Server, client: User, adding: boolean): void;
}

export interface Module {
  name: string;
  commands?: Record<string, CommandDef>;
  caps?: CapOffer[];
  isupport?: (cfg: Config, server: Server) => Record<string, string | number | true>;
  hooks?: Partial<Hooks>;
  /** MODE is one command with two meanings; the mode module routes it by target to these. */
  modeHandlers?: { channel?: Handler; user?: Handler };
  /** Mode letters this module implements, shown in 004 (RPL_MYINFO). */
  modes?: { user?: string; channel?: string; channelWithParam?: string };
  /** Channel mode letters that depend on the config (prefix modes), shown in 004 beside `modes`. */
  configModes?: (cfg: Config) => { channel: string; channelWithParam: string };
  /** User modes this module defines, by letter; MODE <nick> applies them (see modules/usermodes.ts). */
  userModes?: Record<string, UserModeDef>;
  /** A reason to refuse a new connection from this IP before anything is read (D-lines). */
  refuseConnection?(server: Server, ip: string): string | undefined;
  /** A reason to refuse a client at registration, once its user, host and realname are known (K/X-lines). */
  refuseRegistration?(server: Server, client: User): string | undefined;
  /**
   * A JOIN or RENAME names a channel that is not in memory: a module that keeps channels of its
   * own (ChanServ's registered channels) makes it now, without members, as it kept it, so the
   * join checks and the name checks see it.
   */
  restoreChannel?(server: Server, name: string): void;
  /** Called once when the server starts (open stores, timers). */
  init?(server: Server): void;
  /**
   * Called once after every init and the store check, before the listeners open: brings back
   * what the store keeps of the live state (always-on users and their channels).
   */
  restore?(server: Server): void;
  /**
   * The last session of a local user closed for `reason`: true keeps the user, without sessions
   * (always-on), instead of its quitting. The module that keeps it takes note of the detach.
   */
  keepsUser?(server: Server, client: User, reason: DisconnectReason): boolean;
  /**
   * A client logged in to an account completes registration: true when the module attached its
   * connection to a user of that account as a session (always-on), after `welcome` for it.
   */
  attachesAtRegistration?(server: Server, client: User, welcome: (user: User) => void): boolean;
  /** Called once after every init, for work that waits (opening a socket of its own); a rejection stops the start. */
  start?(server: Server): Promise<void>;
  /** Called when the server stops. */
  close?(server: Server): void;
}

/** One line of a draft/multiline message; `concat` joins it to the previous line without a line break. */
export interface MultilinePart {
  text: string;
  concat: boolean;
}
