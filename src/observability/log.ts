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

/** Commands whose parameters carry secrets, and how many leading parameters are safe to log. */
const SECRET_PARAMS: Record<string, number> = { PASS: 0, OPER: 1, AUTHENTICATE: 0, REGISTER: 1, VERIFY: 1, ACCOUNT: 2 };

/** A command's parameters fit for a log: passwords and SASL payloads become "[redacted]". */
export function loggableParams(command: string, params: string[]): string[] {
  const keep = SECRET_PARAMS[command];
  if (keep === undefined) return params;
  return params.map((p, i) => (i < keep ? p : '[redacted]'));
}
