// Shared CLI plumbing for scenario files: each scenario can be run directly
// (node bench/scenarios/<name>.js --target host:port ...) and always ends its
// stdout with exactly one line holding a single JSON object.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from './args.js';

export function isMain(metaUrl) {
  return Boolean(process.argv[1]) && pathToFileURL(resolve(process.argv[1])).href === metaUrl;
}

export async function runCli(name, main, defaults, usage) {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(usage.trim() + '\n');
    return;
  }
  const opts = { ...defaults, ...args };
  delete opts._;
  let code = 0;
  let result;
  try {
    result = await main(opts);
  } catch (err) {
    console.error(err && err.stack ? err.stack : err);
    result = { scenario: name, error: String(err && err.message ? err.message : err) };
    code = 1;
  }
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(code));
}
