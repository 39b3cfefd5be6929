#!/usr/bin/env node
// The command line: run the daemon, check a config, make a password hash or a cloaking secret,
// back up the store.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { newCloakSecret } from './auth/cloak.js';
import { hashPassword } from './auth/password.js';
import { promptNewPassword } from './auth/prompt.js';
import { ConfigError, configWarnings, formatPath, loadConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import { createAccountFromCli } from './modules/accounts.js';
import { makeToken } from './modules/api/tokens.js';
import { allModules } from './modules/index.js';
import { checkTls } from './net/listener.js';
import { checkStsPolicy } from './net/tlsverify.js';
import { createLogger, isJournalStream } from './observability/log.js';
import { planRestart, RESTART_EXIT_STATUS } from './server/restart.js';
import { Server, VERSION } from './server/server.js';
import { backupStore } from './store/backup.js';

const USAGE = `Usage:
  ircd --config FILE     run the server with FILE (TOML)
  ircd check FILE        validate FILE and load its TLS files; exit 0 when all is well (warnings,
                         such as a missing MOTD file, on stderr), 1 with every error otherwise
  ircd mkpasswd          read a password (from stdin, or typed twice at a prompt) and print a
                         hash for the config
  ircd gensecret         print a new random secret for [cloaking] secret
  ircd mkpasswd --token [NAME]
                         make an API token; print it once, and the [[api.tokens]] block holding its hash
  ircd account create NAME --config FILE
                         create an account in FILE's store; the password is read like mkpasswd's
  ircd backup DEST --config FILE
                         copy FILE's store to the new file DEST, safely while the server runs
  ircd --version         print the version
  ircd --help            print this help

Options with --config:
  --pretty               human-readable logs instead of JSON
`;

/** A new password: typed twice on a terminal, or stdin without its final newline (scripts). */
async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const text = readFileSync(0, 'utf8');
    return text.replace(/\r?\n$/, '');
  }
  return promptNewPassword(process.stdin, process.stdout);
}

/** The TLS files of every listener, loaded as the server would: `check` answers for them too. */
function checkTlsFiles(file: string, config: Config): void {
  const problems: string[] = [];
  config.listen.forEach((l, i) => {
    try {
      if (l.tls) checkTls(l.tls);
    } catch (err) {
      problems.push(`${formatPath(['listen', i, 'tls'])}: ${(err as Error).message}`);
    }
  });
  if (problems.length) throw new ConfigError(file, problems);
}

async function run(configPath: string, pretty: boolean): Promise<void> {
  const config = loadConfig(configPath);
  const log = createLogger(config.log, pretty);
  const server = new Server(config, configPath, log, allModules());
  try {
    await server.start();
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'startup failed');
    // On the journal's stream, with the priority of an error ("<3>") as the log lines have theirs.
    process.stderr.write(`${isJournalStream(2) ? '<3>' : ''}ircd: ${(err as Error).message}\n`);
    await server.stop('Startup failed', 100);
    process.exit(1);
  }
  log.info({ config: configPath, version: VERSION, name: config.server.name }, 'server started');
  for (const warning of configWarnings(config)) log.warn({ config: configPath }, warning);
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
    if (!restart) process.exit(0);
    const plan = planRestart(server.config.server.restart, process.env, existsSync);
    if (plan.how === 'exit') {
      log.info({ why: plan.why, status: RESTART_EXIT_STATUS }, 'restarting: exiting for the supervisor to start the server again');
      process.exit(RESTART_EXIT_STATUS);
    }
    const copy = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { detached: true, stdio: 'inherit' });
    log.info({ why: plan.why, pid: copy.pid }, 'restarting: started a new process');
    copy.unref();
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
      const config = loadConfig(second);
      checkTlsFiles(second, config);
      await checkStsPolicy(config).catch((err: Error) => {
        throw new ConfigError(second, [err.message]);
      });
      // Warnings do not fail the check: the server runs with them.
      for (const warning of configWarnings(config)) process.stderr.write(`${second}: warning: ${warning}\n`);
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
    if (first === 'backup') {
      const configAt = argv.indexOf('--config');
      if (!second || second === '--config' || configAt === -1 || !argv[configAt + 1]) throw new Error('usage: ircd backup DEST --config FILE');
      const source = loadConfig(argv[configAt + 1]!).store.path;
      const { bytes, migrations } = await backupStore(source, second);
      process.stdout.write(`backed up ${source} to ${second}: ${bytes} bytes, integrity ok, migrations ${migrations.join(', ')}\n`);
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
    if (first === 'gensecret') {
      process.stdout.write(newCloakSecret() + '\n');
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
