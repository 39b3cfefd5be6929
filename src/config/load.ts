// Reads a TOML config file, validates it against the schema, and resolves relative paths
// against the config file's folder. Errors name the file, the key path and what was expected.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: invalid configuration\n` + problems.map((p) => `  - ${p}`).join('\n'));
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

function describeIssue(raw: unknown, issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${formatPath([...issue.path, k])}: unknown key (check the spelling)`).join('; ');
  }
  const at = formatPath(issue.path);
  const got = valueAt(raw, issue.path);
  const shown = got === undefined ? 'nothing' : JSON.stringify(got);
  return `${at}: ${issue.message} (got ${shown})`;
}

function resolvePaths(cfg: Config, base: string): Config {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  cfg.server.motd = abs(cfg.server.motd);
  for (const l of cfg.listen) if (l.tls) l.tls = { cert: abs(l.tls.cert), key: abs(l.tls.key) };
  if (cfg.log.destination !== 'stdout') cfg.log.destination = abs(cfg.log.destination);
  if (cfg.store.path !== ':memory:') cfg.store.path = abs(cfg.store.path);
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
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  return parseConfigText(text, file);
}
