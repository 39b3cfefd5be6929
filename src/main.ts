#!/usr/bin/env node
// The command line: run the daemon, check a config, make a password hash.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { hashPassword } from './auth/password.js';
import { ConfigError, loadConfig } from './config/load.js';
import { createAccountFromCli } from './modules/accounts.js';
import { makeToken } from './modules/api/tokens.js';
import { allModules } from './modules/index.js';
import { createLogger } from './observability/log.js';
import { Server, VERSION } from './server/server.js';

const USAGE = `Usage:
  ircd --config FILE     run the server with FILE (TOML)
  ircd check FILE        validate FILE; exit 0 when it is valid, 1 with every error otherwise
  ircd mkpasswd          read a password (from stdin, or a prompt) and print a hash for the config
  ircd mkpasswd --token [NAME]
                         make an API token; print it once, and the [[api.tokens]] block holding its hash
  ircd account create NAME --config FILE
                         create an account in FILE's store; the password is read like mkpasswd's
  ircd --version         print the version
  ircd --help            print this help

Options with --config:
  --pretty               human-readable logs instead of JSON
`;

async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const text = readFileSync(0, 'utf8');
    return text.replace(/\r?\n$/, '');
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  // Hide what is typed: the prompt is written once, keystrokes are not echoed.
  const out = rl as unknown as { _writeToOutput: (s: string) => void };
  let prompted = false;
  out._writeToOutput = (s: string) => {
    if (!prompted) process.stdout.write(s);
    prompted = true;
  };
  const answer = await new Promise<string>((resolve) => rl.question('Password: ', resolve));
  rl.close();
  process.stdout.write('\n');
  return answer;
}

async function run(configPath: string, pretty: boolean): Promise<void> {
  const config = loadConfig(configPath);
  const log = createLogger(config.log, pretty);
  const server = new Server(config, configPath, log, allModules());
  try {
    await server.start();
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'startup failed');
    process.stderr.write(`ircd: ${(err as Error).message}\n`);
    await server.stop('Startup failed', 100);
    process.exit(1);
  }
  log.info({ config: configPath, version: VERSION, name: config.server.name }, 'server started');
  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    server.stop(`Server shutting down (${signal})`).then(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => void server.rehash('SIGHUP'));
  // DIE and RESTART stop the server first (listeners closed), so the new process can bind the ports.
  server.exitProcess = (restart) => {
    if (restart) spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { detached: true, stdio: 'inherit' }).unref();
    process.exit(0);
  };
  process.on('uncaughtException', (err) => log.error({ err: err.stack }, 'uncaught exception'));
  process.on('unhandledRejection', (err) => log.error({ err: err instanceof Error ? err.stack : String(err) }, 'unhandled rejection'));
}

async function main(argv: string[]): Promise<number> {
  const [first, second] = argv;
  if (first === '--version' || first === '-v') {
    process.stdout.write(`ircd ${VERSION}\n`);
    return 0;
  }
  if (first === undefined || first === '--help' || first === '-h') {
    process.stdout.write(USAGE);
    return first === undefined ? 2 : 0;
  }
  try {
    if (first === 'check') {
      if (!second) throw new Error('check needs a config file');
      loadConfig(second);
      process.stdout.write(`${second}: configuration is valid\n`);
      return 0;
    }
    if (first === 'account') {
      const name = argv[2];
      const configAt = argv.indexOf('--config');
      if (second !== 'create' || !name || configAt === -1 || !argv[configAt + 1])
        throw new Error('usage: ircd account create NAME --config FILE');
      const password = await readPassword();
      await createAccountFromCli(loadConfig(argv[configAt + 1]!), name, password);
      process.stdout.write(`account ${name} created\n`);
      return 0;
    }
    if (first === 'mkpasswd' && second === '--token') {
      const { token, hash } = makeToken();
      const name = argv[2] ?? 'admin';
      process.stdout.write(
        `# The token (give it to the API client; it is not stored and is shown only now):\n#   ${token}\n` +
          `[[api.tokens]]\nname = ${JSON.stringify(name)}\nhash = "${hash}"\nprivileges = ["kill", "ban", "rehash", "wallops", "see_hidden", "override", "accounts"]\n`,
      );
      return 0;
    }
    if (first === 'mkpasswd') {
      const password = await readPassword();
      if (!password) throw new Error('empty password');
      process.stdout.write(hashPassword(password) + '\n');
      return 0;
    }
    if (first === '--config' || first === '-c') {
      if (!second) throw new Error('--config needs a file');
      await run(second, argv.includes('--pretty') || (process.stdout.isTTY ?? false));
      return -1; // keep running
    }
  } catch (err) {
    process.stderr.write(err instanceof ConfigError ? err.message + '\n' : `ircd: ${(err as Error).message}\n`);
    return 1;
  }
  process.stderr.write(`ircd: unknown command "${first}"\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exitCode = code;
});
