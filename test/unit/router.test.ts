import { Socket } from 'node:net';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { Connection } from '../../src/net/connection.js';
import type { Message } from '../../src/protocol/message.js';
import { CAP, capsWith, NO_CAPS } from '../../src/server/caps.js';
import { User } from '../../src/server/user.js';
import type { Session } from '../../src/server/session.js';
import { bySubcommand } from '../../src/server/module.js';
import { Server } from '../../src/server/server.js';
import { testConfig } from '../support/harness.js';

function setup() {
  const config = validateConfig(testConfig(), '/tmp/router-test.toml');
  const server = new Server(
    config,
    '/tmp/router-test.toml',
    pino({ level: 'silent' }),
    [
      {
        name: 'test',
        commands: {
          BOOM: {
            handler: () => {
              throw new Error('handler bug');
            },
          },
          LATER: { handler: () => Promise.reject(new Error('async bug')) },
          SECRET: { privilege: 'die', handler: (_s, c) => c.fromServer('NOTICE', [c.nick, 'secret ok']) },
          EARLY: { preRegistration: true, onlyPreRegistration: true, handler: (_s, c) => c.fromServer('NOTICE', [c.nick, 'early ok']) },
          TWO: { minParams: 2, handler: (_s, c) => c.fromServer('NOTICE', [c.nick, 'two ok']) },
          SUB: {
            minParams: bySubcommand(0, { ADD: 3, DEL: 2 }, 1),
            handler: (_s, c, m) => c.fromServer('NOTICE', [c.nick, `sub ${m.params.join(' ')}`]),
          },
          FULL: { minParams: 2, emptyIsMissing: true, handler: (_s, c) => c.fromServer('NOTICE', [c.nick, 'full ok']) },
          SEND: { targets: { limit: 'limited' }, handler: (_s, c, m) => c.fromServer('NOTICE', [c.nick, `to ${m.params.join(' ')}`]) },
          HUSH: { targets: { limit: 'limited', quiet: true }, handler: (_s, c, m) => c.fromServer('NOTICE', [c.nick, `to ${m.params[0]}`]) },
          BOOT: {
            minParams: 2,
            targets: { limit: 'limited', param: 1, pairedWith: 0 },
            handler: (_s, c, m) => c.fromServer('NOTICE', [c.nick, `boot ${m.params.join(' ')}`]),
          },
          JOINISH: { minParams: 1, targets: { limit: 'unlimited' }, handler: (_s, c, m) => c.fromServer('NOTICE', [c.nick, `in ${m.params[0]}`]) },
          OPTIN: {
            preRegistration: (_s, c) => c.nick === 'early',
            handler: (_s, c) => c.fromServer('NOTICE', [c.nick, 'optin ok']),
          },
        },
      },
    ],
  );
  const conn = new Connection(new Socket(), server, config.class[0]!, server.lineLimits(), server.flushes);
  const client = User.connectedOn(conn, config.class[0]!, () => server.name);
  const sent: Message[] = [];
  // What leaves for the connection is recorded; a labeled command's Reply writes through here too.
  client.session.write = (m: Message) => void sent.push(m);
  const shown = (m: Message) => [m.tags?.label ? `[${m.tags.label}]` : '', m.command, ...m.params.slice(1)].filter(Boolean).join(' ');
  const run = (line: string) => {
    sent.length = 0;
    (server as unknown as { sessionOf: Map<Connection, Session> }).sessionOf.set(conn, client.session);
    server.handleLine(conn, line, undefined);
    return sent.map(shown);
  };
  /** Runs a line whose handler may be asynchronous; resolves when it is done. */
  const settle = async (line: string) => {
    sent.length = 0;
    (server as unknown as { sessionOf: Map<Connection, Session> }).sessionOf.set(conn, client.session);
    await server.handleLine(conn, line, undefined);
    return sent.map(shown);
  };
  return { server, client, run, settle };
}

describe('router gating', () => {
  it('answers 451 before registration and 421 after for unknown commands', () => {
    const { client, run } = setup();
    expect(run('NOPE')).toEqual(['451 You have not registered']);
    expect(run('TWO a b')).toEqual(['451 You have not registered']);
    expect(run('EARLY')).toEqual(['NOTICE early ok']);
    client.registered = true;
    client.nick = 'me';
    expect(run('NOPE x')).toEqual(['421 NOPE Unknown command']);
    expect(run('EARLY')).toEqual(['462 You may not reregister']);
  });

  it('answers 461 when parameters are missing', () => {
    const { client, run } = setup();
    client.registered = true;
    expect(run('TWO a')).toEqual(['461 TWO Not enough parameters']);
    expect(run('two a b')).toEqual(['NOTICE two ok']);
  });

  it('takes the parameter count of a subcommand from the declaration', () => {
    const { client, run } = setup();
    client.registered = true;
    expect(run('SUB')).toEqual(['461 SUB Not enough parameters']);
    expect(run('SUB add x')).toEqual(['461 SUB Not enough parameters']);
    expect(run('SUB add x y')).toEqual(['NOTICE sub add x y']);
    expect(run('SUB DEL')).toEqual(['461 SUB Not enough parameters']);
    expect(run('SUB DEL x')).toEqual(['NOTICE sub DEL x']);
    // Any other subcommand (the handler's to refuse) needs the default; so does an Object.prototype name.
    expect(run('SUB list')).toEqual(['NOTICE sub list']);
    expect(run('SUB constructor')).toEqual(['NOTICE sub constructor']);
  });

  it('counts an empty required parameter as missing when the command says so', () => {
    const { client, run } = setup();
    client.registered = true;
    expect(run('FULL a :')).toEqual(['461 FULL Not enough parameters']);
    expect(run('FULL a :b')).toEqual(['NOTICE full ok']);
    expect(run('TWO a :')).toEqual(['NOTICE two ok']);
  });

  it('asks a declaration whether this client may use it before registering', () => {
    const { client, run } = setup();
    expect(run('OPTIN')).toEqual(['451 You have not registered']);
    client.nick = 'early';
    expect(run('OPTIN')).toEqual(['NOTICE optin ok']);
  });

  it('holds target lists to max_targets with 407, handing the handler the first ones', () => {
    const { client, run } = setup();
    client.registered = true;
    expect(run('SEND a,b,c,d :hi')).toEqual(['NOTICE to a,b,c,d hi']);
    expect(run('SEND a,,b,c,d,e,f :hi')).toEqual(['407 e Too many targets, at most 4', 'NOTICE to a,b,c,d hi']);
    expect(run('HUSH a,b,c,d,e')).toEqual(['NOTICE to a,b,c,d']);
    // An optional list left out or naming nothing is the handler's to answer (PRIVMSG: 411).
    expect(run('SEND')).toEqual(['NOTICE to ']);
    expect(run('SEND ,')).toEqual(['NOTICE to ,']);
    expect(run('JOINISH a,b,c,d,e,f')).toEqual(['NOTICE in a,b,c,d,e,f']);
  });

  it('refuses a required target list naming nothing, and paired lists that do not pair up', () => {
    const { client, run } = setup();
    client.registered = true;
    expect(run('JOINISH ,')).toEqual(['461 JOINISH Not enough parameters']);
    expect(run('BOOT #a :')).toEqual(['461 BOOT Not enough parameters']);
    expect(run('BOOT #a ,')).toEqual(['461 BOOT Not enough parameters']);
    expect(run('BOOT , x')).toEqual(['461 BOOT Not enough parameters']);
    expect(run('BOOT #a,#b x')).toEqual(['461 BOOT Not enough parameters']);
    expect(run('BOOT #a x,y :why')).toEqual(['NOTICE boot #a x,y why']);
    expect(run('BOOT #a,#b x,y')).toEqual(['NOTICE boot #a,#b x,y']);
    // Pairs are cut together at the limit; one channel for all stays.
    expect(run('BOOT #a,#b,#c,#d,#e v,w,x,y,z')).toEqual(['407 z Too many targets, at most 4', 'NOTICE boot #a,#b,#c,#d v,w,x,y']);
    expect(run('BOOT #a v,w,x,y,z')).toEqual(['407 z Too many targets, at most 4', 'NOTICE boot #a v,w,x,y']);
  });

  it('answers 481 without the privilege', () => {
    const { client, run } = setup();
    client.registered = true;
    expect(run('SECRET')[0]).toMatch(/^481 /);
    client.oper = { name: 'root', privileges: new Set(['die']) };
    expect(run('SECRET')).toEqual(['NOTICE secret ok']);
  });

  it('turns a throwing handler into FAIL and keeps going', () => {
    const { client, run } = setup();
    client.registered = true;
    expect(run('BOOM')).toEqual(['FAIL INTERNAL_ERROR The server could not complete this command']);
    expect(run('TWO a b')).toEqual(['NOTICE two ok']);
  });

  it('catches a rejected handler, a labeled one and a throwing line claim the same way', async () => {
    const { server, client, run, settle } = setup();
    client.registered = true;
    expect(await settle('LATER')).toEqual(['FAIL INTERNAL_ERROR The server could not complete this command']);
    client.session.caps = capsWith(NO_CAPS, [CAP['labeled-response']], []);
    expect(run('@label=x BOOM')).toEqual(['[x] FAIL INTERNAL_ERROR The server could not complete this command']);
    expect(await settle('@label=y LATER')).toEqual(['[y] FAIL INTERNAL_ERROR The server could not complete this command']);
    server.router.lineClaims.push(() => {
      throw new Error('claim bug');
    });
    expect(run('TWO a b')).toEqual(['FAIL INTERNAL_ERROR The server could not complete this command']);
  });

  it('counts command usage', () => {
    const { server, client, run } = setup();
    client.registered = true;
    run('TWO a b');
    run('TWO a b');
    expect(server.router.usage.get('TWO')).toBe(2);
  });
});
