// The single source of truth for configuration keys, defaults and limits.
// Every object is strict: an unknown key is an error, so typos never pass silently.
import { z } from 'zod';
import { isPasswordHash } from '../auth/password.js';

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
  casemapping: z.enum(['rfc1459', 'ascii']).default('rfc1459'),
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
});

const tlsSchema = z.strictObject({ cert: z.string(), key: z.string() });

export const listenSchema = z.strictObject({
  address: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535),
  tls: tlsSchema.optional(),
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
  /** Maximum length of the tag part of a line (IRCv3 message-tags: 8191 for client tags + server tags). */
  tag_length: z.number().int().min(512).max(8191).default(8191),
  channels_per_user: z.number().int().min(1).max(10000).default(50),
  modes_per_line: z.number().int().min(1).max(100).default(6),
  list_entries: z.number().int().min(1).max(10000).default(100),
  monitor: z.number().int().min(0).max(10000).default(100),
  whowas: z.number().int().min(0).max(1000000).default(4096),
  invite_expiry: seconds(3600),
  knock_interval: seconds(60),
});

export const channelsSchema = z.strictObject({
  /** Prefix modes, highest rank first, as in ISUPPORT PREFIX: e.g. "(qaohv)~&@%+" to enable all five. */
  prefix: z
    .string()
    .regex(/^\(([a-zA-Z]{1,8})\)([^\sa-zA-Z0-9#&,]{1,8})$/, 'the form "(modes)symbols", e.g. "(ov)@+"')
    .refine((p) => {
      const m = /^\((.*)\)(.*)$/.exec(p)!;
      return m[1]!.length === m[2]!.length && m[1]!.includes('o');
    }, 'as many symbols as modes, and mode "o" among them')
    .default('(ov)@+'),
  /** Channel types users may create. */
  types: z.string().regex(/^[#&]{1,2}$/, 'one or both of "#" and "&"').default('#'),
  /** Modes set on a channel when it is created. */
  default_modes: z.string().regex(/^[ntsimp]*$/, 'flag modes only, e.g. "nt"').default('nt'),
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
  max_per_ip: z.number().int().min(1).default(10),
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

export const stsSchema = z.strictObject({
  /** Advertise IRCv3 sts when a TLS listener exists, so clients upgrade to TLS and stay there. */
  enabled: z.boolean().default(true),
  /** The TLS port plain-text clients are sent to; defaults to the first TLS listener's port. */
  port: z.number().int().min(1).max(65535).optional(),
  /** Seconds clients remember to use TLS only. */
  duration: z.number().int().min(0).default(2592000),
  /** Allow clients to put this server on preload lists. */
  preload: z.boolean().default(false),
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
    store: storeSchema.prefault({}),
    sts: stsSchema.prefault({}),
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
  });

export type Config = z.infer<typeof configSchema>;
export type ClassConfig = z.infer<typeof classSchema>;
export type ListenConfig = z.infer<typeof listenSchema>;
export type AllowConfig = z.infer<typeof allowSchema>;
export type Limits = z.infer<typeof limitsSchema>;
