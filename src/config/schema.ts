// The single source of truth for configuration keys, defaults and limits.
// Every object is strict: an unknown key is an error, so typos never pass silently.
import { isIP } from 'node:net';
import { z } from 'zod';
import { cloakSecretProblem } from '../auth/cloak.js';
import { isPasswordHash } from '../auth/password.js';
import { rfc1459Fold } from '../protocol/casemap.js';
import { parseCidr } from '../protocol/mask.js';
import { checkNick } from '../protocol/nickname.js';

const seconds = (def: number) => z.number().positive().max(86400 * 365).default(def);
const bytes = (def: number) => z.number().int().min(512).max(1 << 30).default(def);

export const serverSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9.-]+\.[A-Za-z0-9.-]+$/, 'a server name with at least one dot, e.g. "irc.example.net"')
    .default('irc.example.net'),
  network: z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/, 'letters, digits, "_", "." or "-" (1-32)').default('ExampleNet'),
  description: z.string().max(100).default('An IRC server'),
  motd: z.string().default('motd.txt'),
  casemapping: z.enum(['rfc1459', 'ascii', 'utf8']).default('rfc1459'),
  max_clients: z.number().int().positive().default(50000),
  admin: z
    .strictObject({
      location: z.string().default('Somewhere'),
      organisation: z.string().default('Unconfigured network'),
      email: z.string().default('admin@example.net'),
    })
    .prefault({}),
  /** Refuse non-UTF-8 input with FAIL (advertised as UTF8ONLY); when false it is decoded with replacement characters. */
  utf8only: z.boolean().default(true),
  /**
   * What RESTART does: "exit" with status 75 for a supervisor (systemd, Docker) to start the
   * server again, "reexec" to start a copy of the process itself, or "auto": "exit" when a
   * supervisor is detected, else "reexec" (server/restart.ts).
   */
  restart: z.enum(['auto', 'exit', 'reexec']).default('auto'),
  /** TS6 server id (a digit and two letters or digits, unique on the network); needed only to link servers. */
  sid: z
    .string()
    .regex(/^[0-9][0-9A-Z]{2}$/, 'a digit and two uppercase letters or digits, e.g. "1AB"')
    .optional(),
});

const tlsSchema = z.strictObject({ cert: z.string(), key: z.string() });

export const listenSchema = z.strictObject({
  address: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535),
  tls: tlsSchema.optional(),
  /** IRC over WebSocket (IRCv3 subprotocols text.ircv3.net and binary.ircv3.net) for browser clients. */
  websocket: z.boolean().default(false),
  /** WebSocket only: browser origins allowed (globs such as "https://*.example.org"); empty allows any. */
  origins: z.array(z.string().min(1)).default([]),
  /** WebSocket only: reverse proxies (IPs) whose X-Forwarded-For header gives the client's address. */
  trusted_proxies: z.array(z.string().refine((ip) => isIP(ip) !== 0, 'must be an IP address')).default([]),
  /** Every connection starts with a PROXY protocol header (v1 or v2) from an address in [proxy] trusted. */
  proxy: z.boolean().default(false),
  /** Server links (TS6, modules/link) instead of clients: only servers named in a [[link]] block are accepted here. */
  servers: z.boolean().default(false),
});

/** A server this one links to (TS6): who it is, how to reach it, what it must send. */
/** "AB:CD:..." or "abcd..." SHA-256 certificate fingerprints, compared as lowercase hex without colons. */
const certFingerprint = z
  .string()
  .transform((s) => s.replace(/:/g, '').toLowerCase())
  .refine((s) => /^[0-9a-f]{64}$/.test(s), 'a SHA-256 fingerprint: 64 hex digits, colons allowed');

export const linkSchema = z.strictObject({
  /** Its server name, as it sends it in SERVER. */
  name: z.string().regex(/^[A-Za-z0-9.-]+\.[A-Za-z0-9.-]+$/, 'a server name with at least one dot'),
  /** Where to connect to it (autoconnect); an incoming link must come from this address. */
  address: z.string().refine((ip) => isIP(ip) !== 0, 'must be an IP address'),
  port: z.number().int().min(1).max(65535).default(6666),
  /** The password sent in PASS (the peer's accept_password is its hash). */
  send_password: z.string().min(1).regex(/^[^\s:]+$/, 'no spaces or ":"'),
  /** Hash from `ircd mkpasswd` of the password the peer must send. */
  accept_password: z.string().refine(isPasswordHash, 'a hash made by `ircd mkpasswd` (plaintext is refused)'),
  /** Connect to it at start and after each loss, every `retry` seconds until it is up. */
  autoconnect: z.boolean().default(false),
  retry: z.number().int().min(1).max(86400).default(60),
  /** It may introduce servers behind it; a leaf (false) may not. */
  hub: z.boolean().default(false),
  /** The names (globs) of the servers a hub may introduce behind it; unset: any (["*"]). Needs `hub`. */
  hub_mask: z.array(z.string().min(1).regex(/^\S+$/, 'a server name glob without spaces')).min(1).max(64).optional(),
  /** The [[class]] whose sendq and recvq the link gets (its flood limits do not apply to servers). */
  class: z.string().min(1).default('default'),
  /** The link is TLS both ways: our connects to it use TLS, and it must connect to a TLS servers listener. */
  tls: z.boolean().default(false),
  /** SHA-256 fingerprint of its TLS certificate: a link presenting another is refused. Needs `tls`. */
  fingerprint: certFingerprint.optional(),
  /** Plaintext links are allowed to a non-loopback address only when this says so (a private network, a tunnel). */
  allow_plaintext: z.boolean().default(false),
});

/** Characters RELAYMSG may not put in a relayed nick (the spec's reserved ones), nor take as separators. */
export const RELAYMSG_RESERVED = "!+%@&#$:'\"?*,.";

/** RELAYMSG (IRCv3 draft/relaymsg): bridge bots speak in channels as their remote users ("nick/discord"). */
export const relaymsgSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /**
   * Characters of which a relayed nick must hold one (advertised as the capability's value).
   * None may be valid in a real nick, so a relayed nick never passes for a user of this server.
   */
  separators: z
    .string()
    .min(1)
    .max(8)
    .refine((s) => [...s].every((c) => c > ' ' && c <= '~' && !/[A-Za-z0-9\[\]\\`_^{|}-]/.test(c) && !RELAYMSG_RESERVED.includes(c)), {
      message: 'printable ASCII characters that no nick may contain and that are not reserved (!+%@&#$:\'"?*,.)',
    })
    .default('/'),
  /** Channel operators may relay in their channel; otherwise only opers with the "relaymsg" privilege. */
  chanops: z.boolean().default(true),
});

/** Load balancers and TLS terminators that send the PROXY protocol header (HAProxy, nginx stream, AWS NLB...). */
export const proxySchema = z.strictObject({
  /** Addresses (IPs or CIDR ranges) allowed to connect to a `proxy = true` listener. */
  trusted: z.array(z.string().refine((h) => parseCidr(h) !== undefined, 'an IP address or CIDR range')).default([]),
});

export const limitsSchema = z.strictObject({
  nicklen: z.number().int().min(9).max(64).default(30),
  channellen: z.number().int().min(2).max(200).default(64),
  topiclen: z.number().int().min(1).max(400).default(390),
  kicklen: z.number().int().min(1).max(400).default(390),
  awaylen: z.number().int().min(1).max(400).default(390),
  realnamelen: z.number().int().min(1).max(400).default(150),
  userlen: z.number().int().min(1).max(64).default(10),
  max_targets: z.number().int().min(1).max(100).default(4),
  /** Maximum length of the non-tag part of a line, CRLF included (Modern IRC: 512). */
  line_length: z.number().int().min(512).max(16384).default(512),
  /** Longest tag section a client may send, "@" and the space after it included (IRCv3 message-tags: 4096). */
  tag_length: z.number().int().min(512).max(8191).default(4096),
  channels_per_user: z.number().int().min(1).max(10000).default(50),
  modes_per_line: z.number().int().min(1).max(100).default(6),
  list_entries: z.number().int().min(1).max(10000).default(100),
  /** Replies one WHO by mask (not by channel) gives before it stops with 416; opers who see hidden users get all. */
  who_results: z.number().int().min(1).max(1000000).default(500),
  /** Nicks one client may MONITOR (ISUPPORT MONITOR). */
  monitor: z.number().int().min(0).max(10000).default(100),
  /** WHOWAS history entries in all; one nick keeps its last 10; 0 keeps none. */
  whowas: z.number().int().min(0).max(1000000).default(4096),
  invite_expiry: seconds(3600),
  knock_interval: seconds(60),
  /** IPs whose recent connections are remembered for [[class]] connect_rate; the least recent are forgotten first. */
  connect_rate_ips: z.number().int().min(100).max(10000000).default(100000),
  /** Seconds before a channel may be renamed again (RENAME sends its members a JOIN burst each). */
  rename_interval: z.number().min(0).max(86400).default(60),
  /** Combined text of one draft/multiline message, line feeds between lines included (cap value max-bytes). */
  multiline_max_bytes: z.number().int().min(512).max(65536).default(4096),
  /** PRIVMSG/NOTICE lines in one draft/multiline batch (cap value max-lines). */
  multiline_max_lines: z.number().int().min(1).max(1000).default(32),
});

export const channelsSchema = z.strictObject({
  /** Prefix modes, highest rank first, as in ISUPPORT PREFIX: e.g. "(qaohv)~&@%+" to enable all five. */
  prefix: z
    .string()
    .regex(/^\(([a-zA-Z]{1,8})\)([^\sa-zA-Z0-9#,:]{1,8})$/, 'the form "(modes)symbols", e.g. "(ov)@+"')
    .refine((p) => {
      const m = /^\((.*)\)(.*)$/.exec(p)!;
      return m[1]!.length === m[2]!.length && m[1]!.includes('o');
    }, 'as many symbols as modes, and mode "o" among them')
    .default('(ov)@+'),
  /** Channel types users may create. */
  types: z.string().regex(/^[#&]{1,2}$/, 'one or both of "#" and "&"').default('#'),
  /** Modes set on a channel when it is created. */
  default_modes: z.string().regex(/^[ntsimp]*$/, 'flag modes only, e.g. "nt"').default('nt'),
}).superRefine((c, ctx) => {
  // "@&chan" must not be ambiguous between a status prefix and a channel type.
  const symbols = /\)(.*)$/.exec(c.prefix)?.[1] ?? '';
  const clash = [...c.types].filter((t) => symbols.includes(t));
  if (clash.length)
    ctx.addIssue({ code: 'custom', path: ['prefix'], message: `prefix symbol "${clash[0]}" is also a channel type in channels.types` });
});

export const classSchema = z.strictObject({
  name: z.string().min(1),
  /** Unsent output allowed before the client is dropped with "SendQ exceeded". */
  sendq: bytes(1048576),
  /** Unprocessed input allowed before the client is dropped with "Excess Flood". */
  recvq: bytes(16384),
  ping_interval: seconds(120),
  ping_timeout: seconds(60),
  registration_timeout: seconds(60),
  /** Connections from one IP; an IPv6 address counts as its /64, as in every per-IP limit. */
  max_per_ip: z.number().int().min(1).default(10),
  /**
   * New connections accepted from one IP: `count` at once, then `count` per `seconds` (a token
   * bucket); faster ones are refused with ERROR "Throttled: reconnecting too fast".
   */
  connect_rate: z
    .strictObject({
      count: z.number().int().min(1).max(1000000).default(20),
      seconds: seconds(10),
    })
    .prefault({}),
  /** Clients in this class must log in with SASL before registration completes (FAIL * ACCOUNT_REQUIRED otherwise). */
  require_sasl: z.boolean().default(false),
  /**
   * Ident (RFC 1413) lookups for clients of this class ([ident] sets the timeout): the answered
   * username is used, and a client without an answer gets "~" before the one it gave.
   */
  ident: z.boolean().default(false),
  flood: z
    .strictObject({
      /** Commands accepted at once before the penalty applies. */
      burst: z.number().int().min(1).max(100000).default(10),
      /** Commands per second processed once the burst is used. */
      rate: z.number().positive().max(1000000).default(2),
    })
    .prefault({}),
});

export const allowSchema = z.strictObject({
  /** An IP, a CIDR (1.2.3.0/24, 2001:db8::/32) or a host glob (*.example.net); "*" matches everyone. */
  mask: z.string().min(1),
  class: z.string().min(1),
  /** Hash from `ircd mkpasswd`; clients must send it with PASS. */
  password: z.string().refine(isPasswordHash, 'a hash made by `ircd mkpasswd` (plaintext is refused)').optional(),
});

export const logSchema = z.strictObject({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  format: z.enum(['json', 'pretty']).default('json'),
  /** "stdout" or a file path. */
  destination: z.string().default('stdout'),
});

export const metricsSchema = z.strictObject({
  /** Serve /metrics (Prometheus text format) and /healthz over HTTP. */
  enabled: z.boolean().default(false),
  /** The metrics are not authenticated: keep this on loopback or a private network. */
  address: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(9667),
  /** HTTP connections served at once (scrapers and health probes). */
  max_connections: z.number().int().min(1).max(10000).default(32),
});

export const stsSchema = z.strictObject({
  /**
   * Advertise IRCv3 Strict Transport Security: clients that saw it connect only with TLS, to
   * this host, for `duration` seconds. Refused unless the certificate of the STS listener
   * verifies for server.name (net/tlsverify.ts).
   */
  enabled: z.boolean().default(false),
  /** The TLS port plain-text clients are sent to; defaults to the first TLS listener's port. */
  port: z.number().int().min(1).max(65535).optional(),
  /** Seconds clients remember to use TLS only. */
  duration: z.number().int().min(0).default(2592000),
  /** Allow clients to put this server on preload lists. */
  preload: z.boolean().default(false),
  /** A PEM file of CA certificates trusted besides the system's when the certificate is checked (a private CA). */
  ca_file: z.string().optional(),
});

/** Oper privileges an [[oper_class]] may grant; listed so a typo is an error, not a silent no-op. */
export const PRIVILEGES = ['kill', 'ban', 'rehash', 'die', 'wallops', 'see_hidden', 'override', 'accounts', 'relaymsg', 'routing'] as const;
export type Privilege = (typeof PRIVILEGES)[number];

/** Server notice letters (user mode +s): bans, connects/quits, GLOBOPS, kills, LOCOPS, oper activity, this server's links, links elsewhere on the network. */
export const SNOMASK_LETTERS = 'bcgklosx';

export const operClassSchema = z.strictObject({
  name: z.string().min(1),
  privileges: z.array(z.enum(PRIVILEGES)).default([]),
  /** Server notices opers of this class get (user mode +s is set on OPER when not empty). */
  snomask: z.string().regex(new RegExp(`^[${SNOMASK_LETTERS}]*$`), `letters among "${SNOMASK_LETTERS}"`).default(SNOMASK_LETTERS),
});

/** An API token: a name for the log, the hash of its secret, and the oper privileges it carries. */
export const apiTokenSchema = z.strictObject({
  /** Shown in the log line of every call made with the token. */
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." or "-" (1-64)'),
  /** Hash from `ircd mkpasswd --token` (which prints the token once, and this hash). */
  hash: z.string().refine(isPasswordHash, 'a hash made by `ircd mkpasswd --token` (plaintext is refused)'),
  /** Oper privilege names; "see_hidden" shows real hosts and addresses, the others gate their endpoints. */
  privileges: z.array(z.enum(PRIVILEGES)).default([]),
});

export const apiSchema = z.strictObject({
  /** Serve the HTTP administration API and the web panel. */
  enabled: z.boolean().default(false),
  /** Keep on loopback (or behind a TLS reverse proxy) unless `tls` is set. */
  address: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8667),
  /** Certificate and key (PEM files) to serve HTTPS instead of HTTP. */
  tls: tlsSchema.optional(),
  /** HTTP connections served at once. */
  max_connections: z.number().int().min(1).max(10000).default(32),
  /** Largest request body read; larger ones are refused with 413. */
  max_body_bytes: z.number().int().min(1024).max(1 << 20).default(16384),
  /** Failed authentications allowed per address within `auth_window`; more get 429 unchecked. */
  auth_failures_per_ip: z.number().int().min(1).max(100000).default(10),
  auth_window: seconds(600),
  /** Serve the web panel at / (the API is at /api either way). */
  panel: z.boolean().default(true),
  tokens: z.array(apiTokenSchema).max(64).default([]),
});

export const operSchema = z.strictObject({
  /** The name given to OPER. */
  name: z.string().regex(/^[^\s:]{1,64}$/, '1-64 characters, no spaces'),
  /** Hash from `ircd mkpasswd`; may be left out when a certificate fingerprint is required instead. */
  password: z.string().refine(isPasswordHash, 'a hash made by `ircd mkpasswd` (plaintext is refused)').optional(),
  /** user@host masks (globs; the host may be a CIDR) the oper must connect from. */
  hosts: z.array(z.string().regex(/^[^\s@]+@[^\s@]+$/, 'a user@host mask, e.g. "*@192.0.2.0/24"')).min(1).default(['*@*']),
  /** TLS client certificate fingerprints (SHA-256) accepted; when set, one of them is required. */
  certfp: z.array(certFingerprint).default([]),
  /** The [[oper_class]] giving the privileges. */
  class: z.string().min(1),
});

export const operLimitsSchema = z.strictObject({
  /** Failed OPER attempts allowed per connection within `window`; more are refused unchecked. */
  failures_per_connection: z.number().int().min(1).max(1000).default(3),
  /** Failed OPER attempts allowed per IP within `window`. */
  failures_per_ip: z.number().int().min(1).max(100000).default(10),
  window: seconds(600),
  /** IPs whose failures are remembered at once; the oldest are forgotten first. */
  tracked_ips: z.number().int().min(1).max(1000000).default(10000),
});

/**
 * A WebIRC gateway (IRCv3 WEBIRC): a web chat or bouncer that connects on its users' behalf and
 * passes each user's real address, so bans, limits and cloaks apply to the user, not the gateway.
 */
export const webircSchema = z.strictObject({
  /** The gateway's name, shown in WHOIS (350) and the logs. */
  name: z.string().regex(/^[^\s:]{1,64}$/, '1-64 characters, no spaces'),
  /** Addresses (IPs or CIDR ranges) the gateway connects from; WEBIRC from anywhere else is refused. */
  hosts: z.array(z.string().refine((h) => parseCidr(h) !== undefined, 'an IP address or CIDR range')).min(1),
  /** Hash from `ircd mkpasswd` of the password the gateway sends. */
  password: z.string().refine(isPasswordHash, 'a hash made by `ircd mkpasswd` (plaintext is refused)'),
  /** Use the hostname the gateway resolved for the user; when false the user's host is its IP. */
  trust_hostname: z.boolean().default(true),
});

export const cloakingSchema = z
  .strictObject({
    /** Replace users' hosts with a keyed hash of their IP or hostname (user mode +x). */
    enabled: z.boolean().default(false),
    /** At least 32 random characters, e.g. from `ircd gensecret`; changing it changes every cloak. */
    secret: z.string().default(''),
    /** Users get +x when they connect; they can toggle it with MODE +x / -x. */
    default_on: z.boolean().default(true),
    /** First label of cloaked hostnames, e.g. "cloak-1a2b3c4d.example.net". */
    prefix: z.string().regex(/^[A-Za-z0-9-]{1,16}$/, '1-16 letters, digits or "-"').default('cloak'),
  })
  .superRefine((c, ctx) => {
    const problem = c.enabled ? cloakSecretProblem(c.secret) : undefined;
    if (problem) ctx.addIssue({ code: 'custom', path: ['secret'], message: problem });
  });

export const dnsSchema = z.strictObject({
  /** Look up hostnames (PTR, confirmed by a forward lookup) before registration completes. */
  enabled: z.boolean().default(false),
  /** Seconds to wait for the lookups before the IP is used. */
  timeout: z.number().positive().max(30).default(3),
});

export const identSchema = z.strictObject({
  /** Seconds to wait for an ident answer; registration waits at most this long for it. */
  timeout: z.number().positive().max(30).default(4),
  /** Lookups in flight at once; connections beyond it get no lookup (and "~"), so a connection flood makes no flood of lookups. */
  max_lookups: z.number().int().min(1).max(100000).default(1024),
  /** The port asked on the client's address (113; another one only for tests). */
  port: z.number().int().min(1).max(65535).default(113),
});

export const statsSchema = z.strictObject({
  /** STATS letters anyone may query; the others are for opers. */
  public: z.string().regex(/^[a-zA-Z?]*$/, 'STATS letters, e.g. "u?"').default('u?'),
  /** Whether LINKS lists servers to non-opers; networks that hide their topology turn it off. */
  links_public: z.boolean().default(true),
});

export const bansSchema = z.strictObject({
  /** Server bans (K/D/X-lines) kept at once; more are refused until some expire or are removed. */
  max_entries: z.number().int().min(1).max(1000000).default(10000),
  /** Widest ranges accepted in D-lines and K-line hosts: shorter IPv4 and IPv6 prefixes are refused as too broad. */
  dline_min_cidr: z.number().int().min(0).max(32).default(16),
  dline_min_cidr6: z.number().int().min(0).max(128).default(48),
});

/** A service's nick: a valid nick no user can take (read at start). */
const serviceNick = (fallback: string) =>
  z
    .string()
    .refine((v) => checkNick(v, 'ascii', 64).ok, 'must be a valid nick: a letter or one of [\\]^_`{|} first, then letters, digits, those and "-" (at most 64)')
    .default(fallback);

/** Built-in services: pseudo-users that answer commands sent to them (docs/services.md). */
export const servicesSchema = z.strictObject({
  /** Whether the services' pseudo-users exist (read at start). */
  enabled: z.boolean().default(true),
  nickserv: serviceNick('NickServ'),
  chanserv: serviceNick('ChanServ'),
  /** Channels one account may register with ChanServ (as founder, transfers included). */
  channels_per_account: z.number().int().min(1).max(1000).default(15),
  /**
   * Linked servers that act as services (Atheme; a daemon of ours answering SASL for the
   * network): only they may set accounts of other servers' users (ENCAP SU, SVSLOGIN), force nick
   * changes (RSFNC), hold nicks (NICKDELAY) and lock channel modes (MLOCK); their +S users are
   * network services (read at start).
   */
  servers: z.array(z.string().regex(/^[A-Za-z0-9.-]+\.[A-Za-z0-9.-]+$/, 'a server name with at least one dot')).max(16).default([]),
}).superRefine((c, ctx) => {
  // Compared under rfc1459, the casemapping that folds the most ASCII nicks together.
  if (rfc1459Fold(c.nickserv) === rfc1459Fold(c.chanserv)) ctx.addIssue({ code: 'custom', path: ['chanserv'], message: 'must differ from services.nickserv' });
});

export const accountsSchema = z.strictObject({
  /**
   * This server keeps accounts of its own (read at start). False: AUTHENTICATE is relayed to the
   * network's SASL agent ([sasl] agent: Atheme's SaslServ, or a daemon with [sasl] serve_network),
   * and REGISTER is refused; needs [services] enabled = false.
   */
  enabled: z.boolean().default(true),
  /** Accept REGISTER (IRCv3 draft/account-registration). */
  registration: z.boolean().default(true),
  /** Allow REGISTER before connection registration completes (cap value "before-connect"). */
  register_before_connect: z.boolean().default(true),
  /** Allow an account name other than the current nick (cap value "custom-account-name"). */
  custom_account_name: z.boolean().default(false),
  /**
   * Require an email address with REGISTER (cap value "email-required"). This server has no mail
   * transport, so it can neither verify nor use an address: true is refused rather than promised.
   */
  email_required: z
    .boolean()
    .refine((v) => !v, 'must be false: this server has no mail transport to verify email addresses (see config/ircd.toml)')
    .default(false),
  /** Password length in UTF-8 bytes (REGISTER, ACCOUNT CREATE/RESETPASS, `ircd account create`). */
  password_min_length: z.number().int().min(1).max(1024).default(8),
  password_max_length: z.number().int().min(1).max(1024).default(300),
  /** Accounts REGISTER may create from one IP per `register_window` seconds. */
  register_per_ip: z.number().int().min(1).max(100000).default(3),
  register_window: seconds(3600),
  /** PBKDF2 iterations for new password verifiers (SCRAM-SHA-256; RFC 7677 asks for at least 4096). */
  pbkdf2_iterations: z.number().int().min(4096).max(1000000).default(4096),
  /** TLS certificate fingerprints (SASL EXTERNAL) one account may hold. */
  max_certfps: z.number().int().min(0).max(100).default(5),
  /**
   * Nicks that are account names: "off", "warn" (a notice to whoever uses one without being logged
   * in to it) or "enforce" (after `nick_grace` seconds such a user is renamed to Guest<digits>).
   */
  nick_reservation: z.enum(['off', 'warn', 'enforce']).default('warn'),
  nick_grace: seconds(60),
  /** Accounts shown at most by one ACCOUNT LIST. */
  list_max: z.number().int().min(1).max(10000).default(100),
  /**
   * Multiclient: a client logged in to the account that holds a nick may connect with that nick
   * and becomes a further session of the same user (same channels, messages reach every session).
   */
  multiclient: z.boolean().default(true),
  /** Connections one user may have at once with multiclient, the first included. */
  max_sessions: z.number().int().min(1).max(100).default(8),
}).refine((a) => a.password_min_length <= a.password_max_length, {
  path: ['password_max_length'],
  message: 'must not be below password_min_length',
});

/**
 * Always-on users (docs/always-on.md): a logged-in user whose account has it stays when its last
 * connection closes (nick, channels, messages kept for it) and survives restarts. Needs
 * [accounts] multiclient, through which connections attach to it.
 */
export const alwaysOnSchema = z.strictObject({
  /**
   * Who is always-on: "disabled" (nobody), "opt-in" (accounts that turn it on with NickServ SET
   * ALWAYS-ON), "opt-out" (every account that does not turn it off), "mandatory" (every account).
   */
  policy: z.enum(['disabled', 'opt-in', 'opt-out', 'mandatory']).default('opt-in'),
  /** Always-on users the server keeps at once; past it, further accounts are not made always-on. */
  max_users: z.number().int().min(0).max(1000000).default(10000),
  /** Seconds without any connection after which an always-on user quits; 0 keeps it for ever. */
  expire_after: z.number().min(0).max(86400 * 3650).default(86400 * 30),
  /** Mark a detached always-on user away (unless it set an away message of its own). */
  auto_away: z.boolean().default(true),
  /** Seconds after its last connection closed before the user is marked away. */
  away_after: z.number().min(0).max(86400).default(0),
  /** The away message auto_away sets. */
  away_message: z.string().min(1).max(300).default('Detached: no client is connected'),
  /**
   * Missed messages per channel and direct conversation replayed to a connection that attaches
   * without draft/chathistory or znc.in/playback (those ask for what they want); 0 replays none.
   */
  replay_lines: z.number().int().min(0).max(1000).default(100),
});

export const saslSchema = z.strictObject({
  /** Mechanisms offered in the sasl capability value, in this order. */
  mechanisms: z
    .array(z.enum(['PLAIN', 'EXTERNAL', 'SCRAM-SHA-256']))
    .min(1)
    .refine((m) => new Set(m).size === m.length, 'each mechanism once')
    .default(['PLAIN', 'EXTERNAL', 'SCRAM-SHA-256']),
  /** Longest client response (base64 bytes, all AUTHENTICATE chunks together). */
  max_response: z.number().int().min(400).max(65536).default(8192),
  /**
   * Failed logins tolerated per IP and per account within `failure_window` seconds; more get 904
   * at once. An account past its count is closed only to IPs that have failed themselves.
   */
  failures_per_ip: z.number().int().min(1).max(100000).default(10),
  failures_per_account: z.number().int().min(1).max(100000).default(10),
  failure_window: seconds(300),
  /** IPs and accounts whose failures are remembered (least recently failed are forgotten first). */
  failure_tracking: z.number().int().min(100).max(1000000).default(10000),
  /** Nick of the network's SASL agent: where a server without accounts relays AUTHENTICATE, and what serve_network introduces. */
  agent: z
    .string()
    .refine((v) => checkNick(v, 'ascii', 64).ok, 'must be a valid nick')
    .default('SaslServ'),
  /**
   * Answer SASL for the other servers of the network from this server's accounts (read at start):
   * the `agent` pseudo-user is introduced to the links, logins are set with ENCAP SVSLOGIN.
   */
  serve_network: z.boolean().default(false),
});

/**
 * Chat history (IRCv3 draft/chathistory): in memory (a restart forgets it; max_bytes bounds its
 * memory, counted as each message is held, see history/store.ts; the process's RSS grows by up to
 * about twice that, as with any V8 heap) or in the [store] database (history/sqlstore.ts), where
 * it survives restarts and max_db_bytes bounds the file.
 */
export const historySchema = z.strictObject({
  /** Keep history and offer draft/chathistory, draft/event-playback and draft/message-redaction. */
  enabled: z.boolean().default(true),
  /** Where history is kept: "memory" or "sqlite" (the [store] database); unset, see historyBackend. */
  backend: z.enum(['memory', 'sqlite']).optional(),
  /** sqlite: bytes of the store file in use past which the oldest messages are deleted (checked every minute). */
  max_db_bytes: z.number().int().min(1 << 20).max(2 ** 50).default(1024 * 1024 * 1024),
  /** Messages kept per channel and per direct conversation; the oldest go first. */
  messages_per_target: z.number().int().min(1).max(100000).default(200),
  /** memory: channels and conversations kept at once; the least recently used are forgotten first. */
  max_targets: z.number().int().min(1).max(1000000).default(1000),
  /** memory: messages kept over all targets; past it the least recently used conversations are forgotten. */
  max_messages: z.number().int().min(1).max(10000000).default(50000),
  /** memory: bytes of memory all kept messages may take; past it the least recently used conversations are forgotten. */
  max_bytes: z.number().int().min(1 << 20).max(2 ** 40).default(64 * 1024 * 1024),
  /**
   * Bytes of client-only tags (`+name=value` as sent) kept with each message: whole tags in the
   * order sent while they fit; the others reached the recipients online but are not replayed.
   */
  client_tag_bytes: z.number().int().min(0).max(4094).default(512),
  /** Messages older than this many seconds are forgotten. */
  max_age: seconds(604800),
  /** Most messages one CHATHISTORY command returns (ISUPPORT CHATHISTORY); larger limits are cut to it. */
  query_limit: z.number().int().min(1).max(1000).default(100),
  /** draft/read-marker: read markers kept per account (in the store) or per connection; the least recently set go first. */
  read_markers: z.number().int().min(1).max(100000).default(1000),
});

/**
 * IRCv3 metadata (draft/metadata-3): key-value pairs on users and channels, kept in memory only.
 * Worst case memory is about (users + channels) * max_keys * max_value_bytes.
 */
export const metadataSchema = z.strictObject({
  /** Let clients set and subscribe before registration completes (cap value "before-connect"). */
  before_connect: z.boolean().default(true),
  /** Keys one user or one channel may hold (cap value "max-keys"). */
  max_keys: z.number().int().min(1).max(1000).default(20),
  /**
   * Longest value in UTF-8 bytes (cap value "max-value-bytes"). A 761 reply carries the nick,
   * target and key too, so values above ~300 bytes can exceed a 512-byte line.
   */
  max_value_bytes: z.number().int().min(1).max(4096).default(300),
  /** Keys one connection may subscribe to (cap value "max-subs"). */
  max_subscriptions: z.number().int().min(1).max(1000).default(50),
  /**
   * Most values sent when a subscriber joins a channel (the channel's and its members'); a channel
   * with more gets RPL_METADATASYNCLATER and the client asks for it with METADATA SYNC.
   */
  join_sync_lines: z.number().int().min(0).max(100000).default(1000),
});

export const webpushSchema = z.strictObject({
  /** Push notifications (draft/webpush) for logged-in users with no connection: direct messages and highlights. */
  enabled: z.boolean().default(false),
  /** VAPID contact (RFC 8292 "sub"): a mailto: or https: URI push services may use to reach the operator. */
  subscriber: z.string().regex(/^(mailto:\S+@\S+|https:\/\/\S+)$/, 'a mailto: or https: URI').default('mailto:admin@example.net'),
  /** Seconds one delivery (connect, TLS, request, status) may take. */
  timeout: z.number().positive().max(120).default(10),
  /** Push subscriptions one account may hold (one per device or browser). */
  max_subscriptions: z.number().int().min(1).max(100).default(4),
  /** Seconds a subscription lasts unless the client registers it again (a reconnecting client does). */
  expiration: seconds(14 * 86400),
  /** Seconds push services keep a message for a device that is offline (RFC 8030 TTL). */
  ttl: z.number().int().min(0).max(28 * 86400).default(86400),
  /** Deliveries in flight at once. */
  concurrency: z.number().int().min(1).max(256).default(8),
  /** Deliveries waiting for a free slot; past it new ones are dropped (and counted). */
  queue: z.number().int().min(1).max(100000).default(1000),
  /**
   * Addresses (CIDR) push endpoints may resolve to although they are loopback, private or
   * link-local: an in-house push service. Everything else in those ranges is refused.
   */
  allow_destinations: z.array(z.string().refine((c) => parseCidr(c) !== undefined, 'must be an IP address or CIDR range')).default([]),
  /** A PEM file of a certificate authority trusted for endpoints besides the usual roots (an in-house service's CA). */
  ca: z.string().optional(),
});

export const storeSchema = z.strictObject({
  /** SQLite database for durable data (bans, accounts); created on first start. ":memory:" keeps nothing. */
  path: z.string().default('ircd.db'),
});

export const configSchema = z
  .strictObject({
    server: serverSchema.prefault({}),
    listen: z.array(listenSchema).min(1, 'at least one [[listen]] block'),
    limits: limitsSchema.prefault({}),
    channels: channelsSchema.prefault({}),
    class: z.array(classSchema).min(1, 'at least one [[class]] block'),
    allow: z.array(allowSchema).min(1, 'at least one [[allow]] block'),
    log: logSchema.prefault({}),
    metrics: metricsSchema.prefault({}),
    api: apiSchema.prefault({}),
    store: storeSchema.prefault({}),
    accounts: accountsSchema.prefault({}),
    always_on: alwaysOnSchema.prefault({}),
    sasl: saslSchema.prefault({}),
    sts: stsSchema.prefault({}),
    oper_class: z.array(operClassSchema).default([]),
    oper: z.array(operSchema).default([]),
    oper_limits: operLimitsSchema.prefault({}),
    cloaking: cloakingSchema.prefault({}),
    dns: dnsSchema.prefault({}),
    ident: identSchema.prefault({}),
    stats: statsSchema.prefault({}),
    bans: bansSchema.prefault({}),
    history: historySchema.prefault({}),
    metadata: metadataSchema.prefault({}),
    webpush: webpushSchema.prefault({}),
    webirc: z.array(webircSchema).default([]),
    proxy: proxySchema.prefault({}),
    relaymsg: relaymsgSchema.prefault({}),
    link: z.array(linkSchema).max(64).default([]),
    services: servicesSchema.prefault({}),
  })
  .superRefine((cfg, ctx) => {
    const classes = new Set<string>();
    cfg.class.forEach((c, i) => {
      if (classes.has(c.name)) ctx.addIssue({ code: 'custom', path: ['class', i, 'name'], message: `duplicate class "${c.name}"` });
      classes.add(c.name);
    });
    cfg.allow.forEach((a, i) => {
      if (!classes.has(a.class))
        ctx.addIssue({ code: 'custom', path: ['allow', i, 'class'], message: `no [[class]] named "${a.class}"` });
    });
    const operClasses = new Set(cfg.oper_class.map((c) => c.name));
    const operNames = new Set<string>();
    cfg.oper.forEach((o, i) => {
      if (operNames.has(o.name)) ctx.addIssue({ code: 'custom', path: ['oper', i, 'name'], message: `duplicate oper "${o.name}"` });
      operNames.add(o.name);
      if (!operClasses.has(o.class))
        ctx.addIssue({ code: 'custom', path: ['oper', i, 'class'], message: `no [[oper_class]] named "${o.class}"` });
      if (!o.password && o.certfp.length === 0)
        ctx.addIssue({ code: 'custom', path: ['oper', i, 'password'], message: 'a password hash or a certfp is required' });
    });
    if (cfg.sts.enabled) {
      const port = cfg.sts.port;
      if (!cfg.listen.some((l) => l.tls && (port === undefined || l.port === port)))
        ctx.addIssue({
          code: 'custom',
          path: port === undefined ? ['sts', 'enabled'] : ['sts', 'port'],
          message: port === undefined ? 'STS needs a [[listen]] block with tls' : `no [[listen]] block with tls on port ${port}`,
        });
    }
    const linkNames = new Set<string>();
    cfg.link.forEach((l, i) => {
      const key = l.name.toLowerCase();
      if (linkNames.has(key)) ctx.addIssue({ code: 'custom', path: ['link', i, 'name'], message: `duplicate link "${l.name}"` });
      linkNames.add(key);
      if (!classes.has(l.class)) ctx.addIssue({ code: 'custom', path: ['link', i, 'class'], message: `no [[class]] named "${l.class}"` });
      if (!l.allow_plaintext && !isLoopback(l.address) && !(l.tls && l.fingerprint))
        ctx.addIssue({
          code: 'custom',
          path: ['link', i, 'address'],
          message: 'a link off loopback needs tls = true with a pinned fingerprint, or allow_plaintext = true',
        });
      if (l.hub_mask && !l.hub) ctx.addIssue({ code: 'custom', path: ['link', i, 'hub_mask'], message: 'a leaf introduces no servers: set hub = true to use hub_mask' });
      if (l.fingerprint && !l.tls) ctx.addIssue({ code: 'custom', path: ['link', i, 'fingerprint'], message: 'a fingerprint is checked on TLS links only: set tls = true' });
      if (l.name.toLowerCase() === cfg.server.name.toLowerCase())
        ctx.addIssue({ code: 'custom', path: ['link', i, 'name'], message: 'a link to this server itself' });
    });
    if (!cfg.accounts.enabled && cfg.services.enabled)
      ctx.addIssue({ code: 'custom', path: ['services', 'enabled'], message: 'NickServ needs accounts: set [services] enabled = false when [accounts] enabled = false' });
    if (!cfg.accounts.enabled && cfg.sasl.serve_network)
      ctx.addIssue({ code: 'custom', path: ['sasl', 'serve_network'], message: 'answering SASL for the network needs [accounts] enabled = true' });
    if ((cfg.link.length > 0 || cfg.listen.some((l) => l.servers)) && !cfg.server.sid)
      ctx.addIssue({ code: 'custom', path: ['server', 'sid'], message: '[[link]] blocks and servers listeners need a server id ([server] sid)' });
    cfg.listen.forEach((l, i) => {
      if (l.servers && (l.websocket || l.proxy))
        ctx.addIssue({ code: 'custom', path: ['listen', i, 'servers'], message: 'a servers listener takes TS6 links: no websocket or proxy' });
    });
    const tokenNames = new Set<string>();
    cfg.api.tokens.forEach((t, i) => {
      if (tokenNames.has(t.name)) ctx.addIssue({ code: 'custom', path: ['api', 'tokens', i, 'name'], message: `duplicate token "${t.name}"` });
      tokenNames.add(t.name);
    });
  });

export type Config = z.infer<typeof configSchema>;

/**
 * Where history is kept: [history] backend, or by default "sqlite" for a server with a store file
 * (history survives restarts) and "memory" for a store in memory (":memory:", kept nowhere).
 */
export function historyBackend(cfg: Pick<Config, 'history' | 'store'>): 'memory' | 'sqlite' {
  return cfg.history.backend ?? (cfg.store.path === ':memory:' ? 'memory' : 'sqlite');
}
export type ClassConfig = z.infer<typeof classSchema>;
export type ListenConfig = z.infer<typeof listenSchema>;
export type LinkConfig = z.infer<typeof linkSchema>;

/** 127.0.0.0/8 and ::1 (and the IPv4-mapped form): where a plaintext link is allowed by default. */
export function isLoopback(ip: string): boolean {
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return v4.startsWith('127.') || ip === '::1';
}
export type AllowConfig = z.infer<typeof allowSchema>;
export type Limits = z.infer<typeof limitsSchema>;
export type OperConfig = z.infer<typeof operSchema>;
export type ApiConfig = z.infer<typeof apiSchema>;
export type ApiTokenConfig = z.infer<typeof apiTokenSchema>;
export type WebircConfig = z.infer<typeof webircSchema>;
export type ProxyConfig = z.infer<typeof proxySchema>;
