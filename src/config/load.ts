// Reads a TOML config file, validates it against the schema, and resolves relative paths
// against the config file's folder. Errors name the file, the key path and what was expected.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';
import { nearestName } from './suggest.js';

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
    /** What is wrong with the file as a whole: "invalid configuration", "not found", ... */
    summary = 'invalid configuration',
  ) {
    super(`${file}: ${summary}` + problems.map((p) => `\n  - ${p}`).join(''));
  }
}

/** "listen[1].port" from ['listen', 1, 'port']. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += (out ? '.' : '') + String(seg);
  }
  return out || '(top level)';
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

/** The keys the schema allows in the table at `path` (array indexes step into the element). */
function keysAt(path: readonly PropertyKey[]): string[] {
  let def = (configSchema as z.core.$ZodType)._zod.def as z.core.$ZodTypeDef & Record<string, unknown>;
  const unwrap = () => {
    while ('innerType' in def) def = (def.innerType as z.core.$ZodType)._zod.def as typeof def;
  };
  for (const seg of path) {
    unwrap();
    if (def.type === 'array' && typeof seg === 'number') def = (def.element as z.core.$ZodType)._zod.def as typeof def;
    else if (def.type === 'object' && typeof seg === 'string') {
      const next = (def.shape as Record<string, z.core.$ZodType>)[seg];
      if (!next) return [];
      def = next._zod.def as typeof def;
    } else return [];
  }
  unwrap();
  return def.type === 'object' ? Object.keys(def.shape as object) : [];
}

/** The tables the server cannot run without, said plainly when none is there. */
const REQUIRED_BLOCKS: Record<string, string> = {
  listen: 'no [[listen]] block: the server needs at least one address and port to accept clients on, e.g. [[listen]] address = "127.0.0.1" port = 6667',
  class: 'no [[class]] block: connections need a class (limits such as sendq and flood); add [[class]] name = "default"',
  allow: 'no [[allow]] block: nobody may connect; add [[allow]] mask = "*" class = "default"',
};

function describeIssue(raw: unknown, issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const valid = keysAt(issue.path);
    return issue.keys
      .map((k) => {
        const near = nearestName(k, valid);
        return `${formatPath([...issue.path, k])}: unknown key (${near ? `did you mean "${near}"?` : 'check the spelling'})`;
      })
      .join('; ');
  }
  const at = formatPath(issue.path);
  const got = valueAt(raw, issue.path);
  const block = issue.path.length === 1 ? REQUIRED_BLOCKS[issue.path[0] as string] : undefined;
  if (block && (got === undefined || (Array.isArray(got) && got.length === 0))) return block;
  const shown = got === undefined ? 'nothing' : JSON.stringify(got);
  return `${at}: ${issue.message} (got ${shown})`;
}

function resolvePaths(cfg: Config, base: string): Config {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  cfg.server.motd = abs(cfg.server.motd);
  for (const l of cfg.listen) if (l.tls) l.tls = { cert: abs(l.tls.cert), key: abs(l.tls.key) };
  if (cfg.log.destination !== 'stdout') cfg.log.destination = abs(cfg.log.destination);
  if (cfg.store.path !== ':memory:') cfg.store.path = abs(cfg.store.path);
  if (cfg.sts.ca_file) cfg.sts.ca_file = abs(cfg.sts.ca_file);
  if (cfg.webpush.ca !== undefined) cfg.webpush.ca = abs(cfg.webpush.ca);
  return cfg;
}

/** Validates already-parsed TOML data; `file` is only used to name the source in errors. */
export function validateConfig(raw: unknown, file: string): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(file, result.error.issues.map((i) => describeIssue(raw, i)));
  return resolvePaths(result.data, dirname(resolve(file)));
}

export function parseConfigText(text: string, file: string): Config {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (err) {
    const where = err instanceof TomlError ? `line ${err.line}, column ${err.column}: ` : '';
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ConfigError(file, [`TOML syntax error at ${where}${msg}`]);
  }
  return validateConfig(raw, file);
}

export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError(file, [], 'not found');
    throw new ConfigError(file, [(err as Error).message], 'cannot be read');
  }
  return parseConfigText(text, file);
}

/**
 * What is valid but will not work as meant: a MOTD file that does not exist or cannot be read
 * (clients then get 422 "MOTD File is missing"). `ircd check`, the start and REHASH say these.
 */
export function configWarnings(cfg: Config): string[] {
  const warnings: string[] = [];
  try {
    readFileSync(cfg.server.motd);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'does not exist' : `cannot be read (${e.code ?? e.message})`;
    warnings.push(`server.motd: ${cfg.server.motd} ${why}; clients will be told the MOTD is missing`);
  }
  return warnings;
}
