// Structured logs with pino: JSON by default, a compact human format for terminals. Under
// systemd each line on the journal's stream starts with its syslog priority ("<6>"), as
// sd-daemon(3) describes, so `journalctl -p warning` shows only the problems.
import { createWriteStream, fstatSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { Config } from '../config/schema.js';

export type { Logger };

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** Syslog priority of a pino level: fatal 2 (crit), error 3, warn 4, info 6, debug and trace 7. */
export function syslogPriority(level: number): number {
  return level >= 60 ? 2 : level >= 50 ? 3 : level >= 40 ? 4 : level >= 30 ? 6 : 7;
}

/**
 * True when file descriptor `fd` (1 stdout, 2 stderr) is the journal: systemd sets JOURNAL_STREAM
 * to "<device>:<inode>" of the stream it connected, and a child whose output went elsewhere
 * inherits the variable, so both are compared.
 */
export function isJournalStream(fd: number, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!env.JOURNAL_STREAM) return false;
  try {
    const st = fstatSync(fd);
    return env.JOURNAL_STREAM === `${st.dev}:${st.ino}`;
  } catch {
    return false;
  }
}

/** The "<N>" prefix of a pino JSON line ('{"level":30,...'); pino writes the level first. */
function journalPrefix(line: string): string {
  const m = /^\{"level":(\d+)/.exec(line);
  return m ? `<${syslogPriority(Number(m[1]))}>` : '';
}

/** Renders pino's JSON lines as "12:00:01 INFO message key=value", each with its priority under journald. */
function prettyStream(out: NodeJS.WritableStream, journal: boolean): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          const priority = journal ? `<${syslogPriority(rec.level as number)}>` : '';
          const time = new Date(rec.time as number).toISOString().slice(11, 19);
          const extra = Object.entries(rec)
            .filter(([k]) => !SKIP.has(k))
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ');
          out.write(`${priority}${time} ${LEVELS[rec.level as number] ?? rec.level} ${rec.msg ?? ''}${extra ? ' ' + extra : ''}\n`);
        } catch {
          out.write(line + '\n');
        }
      }
      done();
    },
  });
}

export function createLogger(cfg: Config['log'], forcePretty = false): Logger {
  const toStdout = cfg.destination === 'stdout';
  const dest = toStdout ? process.stdout : createWriteStream(cfg.destination, { flags: 'a' });
  const pretty = forcePretty || cfg.format === 'pretty';
  const journal = toStdout && isJournalStream(1);
  return pino(
    {
      level: cfg.level,
      base: undefined,
      redact: { paths: ['password', '*.password'], censor: '[redacted]' },
      hooks: journal && !pretty ? { streamWrite: (line) => journalPrefix(line) + line } : {},
    },
    pretty ? prettyStream(dest, journal) : dest,
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

/**
 * A command's parameters fit for a log: passwords, keys and SASL payloads become "[redacted]".
 * `isService` tells the nicks of this server's own services, whatever they are named.
 */
export function loggableParams(command: string, params: string[], isService?: (target: string) => boolean): string[] {
  if (TEXT_COMMANDS.has(command) && params.length > 1 && params[0]!.split(',').some((t) => SERVICE_TARGET.test(t) || isService?.(t)))
    return [params[0]!, ...params.slice(1).map(firstWordOnly)];
  if (SERVICE_ALIAS.test(command)) return params.length ? [firstWordOnly(params.join(' '))] : params;
  const secret = SECRET_PARAMS[command];
  if (!secret) return params;
  if ('at' in secret) return params.map((p, i) => (secret.at.includes(i) ? REDACTED : p));
  if (secret.when && !secret.when(params)) return params;
  return params.map((p, i) => (i >= secret.from ? REDACTED : p));
}
