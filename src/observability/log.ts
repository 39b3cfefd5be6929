// Structured logs with pino: JSON by default, a compact human format for terminals.
import { createWriteStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { Config } from '../config/schema.js';

export type { Logger };

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** Renders pino's JSON lines as "12:00:01 INFO message key=value". */
function prettyStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          const time = new Date(rec.time as number).toISOString().slice(11, 19);
          const extra = Object.entries(rec)
            .filter(([k]) => !SKIP.has(k))
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ');
          out.write(`${time} ${LEVELS[rec.level as number] ?? rec.level} ${rec.msg ?? ''}${extra ? ' ' + extra : ''}\n`);
        } catch {
          out.write(line + '\n');
        }
      }
      done();
    },
  });
}

export function createLogger(cfg: Config['log'], forcePretty = false): Logger {
  const dest = cfg.destination === 'stdout' ? process.stdout : createWriteStream(cfg.destination, { flags: 'a' });
  const pretty = forcePretty || cfg.format === 'pretty';
  return pino(
    { level: cfg.level, base: undefined, redact: { paths: ['password', '*.password'], censor: '[redacted]' } },
    pretty ? prettyStream(dest) : dest,
  );
}

const REDACTED = '[redacted]';

/**
 * The commands whose parameters carry secrets (passwords, SASL payloads, verification codes,
 * channel keys), and which parameters: every one from `from` on, or those `at`. Messages to
 * services follow the rule after it. A command that takes a secret belongs here.
 */
const SECRET_PARAMS: Record<string, { from: number; when?: (params: string[]) => boolean } | { at: number[] }> = {
  PASS: { from: 0 },
  OPER: { from: 1 },
  AUTHENTICATE: { from: 0 },
  WEBIRC: { at: [0] }, // the gateway's password; its name and the user's address stay
  REGISTER: { from: 1 }, // the email and the password
  VERIFY: { from: 1 },
  ACCOUNT: { from: 2 }, // CREATE and RESETPASS passwords (and CREATE's email)
  JOIN: { from: 1 }, // channel keys
  WEBPUSH: { from: 1 }, // a push endpoint is a capability URL, and the keys hold the auth secret
  MODE: { from: 2, when: (params) => params[1]?.includes('k') === true }, // a key given with +k (all arguments then)
};

/**
 * Services (NickServ, ChanServ, any *Serv, and the nick@server form of Q or X) take passwords in
 * many of their commands (IDENTIFY, REGISTER, GHOST, RECOVER, SET PASSWORD, DROP, ...), so what
 * they are told keeps only its first word, the command. The same holds for the command aliases
 * (NS, CS, NICKSERV, CHANSERV, ...).
 */
const SERVICE_TARGET = /^(?:[^#&]*serv|[^#&@]+@.+)$/i;
const SERVICE_ALIAS = /^(?:[A-Z]+SERV|[NCHMOB]S)$/;
const TEXT_COMMANDS = new Set(['PRIVMSG', 'NOTICE', 'SQUERY']);

function firstWordOnly(text: string): string {
  const first = /^\s*\S*/.exec(text)![0];
  return first.length < text.trimEnd().length ? `${first} ${REDACTED}` : text;
}

/** A command's parameters fit for a log: passwords, keys and SASL payloads become "[redacted]". */
export function loggableParams(command: string, params: string[]): string[] {
  if (TEXT_COMMANDS.has(command) && params.length > 1 && params[0]!.split(',').some((t) => SERVICE_TARGET.test(t)))
    return [params[0]!, ...params.slice(1).map(firstWordOnly)];
  if (SERVICE_ALIAS.test(command)) return params.length ? [firstWordOnly(params.join(' '))] : params;
  const secret = SECRET_PARAMS[command];
  if (!secret) return params;
  if ('at' in secret) return params.map((p, i) => (secret.at.includes(i) ? REDACTED : p));
  if (secret.when && !secret.when(params)) return params;
  return params.map((p, i) => (i >= secret.from ? REDACTED : p));
}
