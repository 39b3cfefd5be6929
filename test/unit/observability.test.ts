import { closeSync, fstatSync, mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allModules } from '../../src/modules/index.js';
import { loggableParams, isJournalStream, syslogPriority } from '../../src/observability/log.js';
import { COMMAND_SECONDS_BUCKETS, Stats } from '../../src/observability/stats.js';
import { listenerLabel } from '../../src/net/listener.js';

describe('Stats', () => {
  it('counts unknown SASL mechanisms as "other" so the label set stays bounded', () => {
    const s = new Stats();
    s.saslAttempt('plain', true);
    s.saslAttempt('PLAIN', false);
    s.saslAttempt('X-MADE-UP', false);
    expect(s.sasl.get('PLAIN')).toEqual({ success: 1, failure: 1 });
    expect(s.sasl.get('other')).toEqual({ success: 0, failure: 1 });
    expect(s.sasl.has('X-MADE-UP')).toBe(false);
  });

  it('puts command times into one bucket each, with a +Inf bucket at the end', () => {
    const s = new Stats();
    s.observeCommandSeconds(0.000001);
    s.observeCommandSeconds(COMMAND_SECONDS_BUCKETS[2]!); // a bound belongs to its own bucket ("le")
    s.observeCommandSeconds(10000);
    expect(s.commandBuckets[0]).toBe(1);
    expect(s.commandBuckets[2]).toBe(1);
    expect(s.commandBuckets[COMMAND_SECONDS_BUCKETS.length]).toBe(1);
    expect(s.commandBuckets.reduce((a, b) => a + b, 0)).toBe(3);
    expect(s.commandSeconds).toBeCloseTo(10000 + 0.000001 + COMMAND_SECONDS_BUCKETS[2]!);
  });
});

describe('command timing', () => {
  it('samples one command in commandTimingEvery', () => {
    const s = new Stats();
    s.commandTimingEvery = 4;
    const starts = Array.from({ length: 8 }, () => s.commandStart());
    expect(starts.map((v) => v >= 0)).toEqual([false, false, false, true, false, false, false, true]);
    for (const v of starts) s.commandEnd(v);
    expect(s.commandBuckets.reduce((a, b) => a + b, 0)).toBe(2);
  });
});

describe('listenerLabel', () => {
  it('brackets IPv6 addresses', () => {
    expect(listenerLabel('127.0.0.1', 6667)).toBe('127.0.0.1:6667');
    expect(listenerLabel('::1', 6697)).toBe('[::1]:6697');
  });
});

describe('loggableParams', () => {
  const R = '[redacted]';

  it.each([
    ['PASS', ['hunter2'], [R]],
    ['PASS', ['alice:hunter2'], [R]],
    ['OPER', ['root', 'hunter2'], ['root', R]],
    ['AUTHENTICATE', ['AGFsaWNlAGh1bnRlcjI='], [R]],
    ['WEBIRC', ['gw-secret', 'kiwi', 'host.example', '192.0.2.7', 'secure'], [R, 'kiwi', 'host.example', '192.0.2.7', 'secure']],
    ['REGISTER', ['alice', 'alice@example.org', 'hunter2'], ['alice', R, R]],
    ['VERIFY', ['alice', '39gvcdg4myvnmdcfhvd6exsv4n'], ['alice', R]],
    ['ACCOUNT', ['CREATE', 'bob', 'hunter2', 'bob@example.org'], ['CREATE', 'bob', R, R]],
    ['ACCOUNT', ['RESETPASS', 'bob', 'hunter2'], ['RESETPASS', 'bob', R]],
    ['JOIN', ['#a,#b', 'key1,key2'], ['#a,#b', R]],
    ['JOIN', ['#a'], ['#a']],
    ['MODE', ['#c', '+kl', 'sekrit', '10'], ['#c', '+kl', R, R]],
    ['MODE', ['#c', '+b', 'x!*@*'], ['#c', '+b', 'x!*@*']],
  ])('%s %j keeps only what is not secret', (command, params, loggable) => {
    expect(loggableParams(command, params)).toEqual(loggable);
  });

  it.each([
    ['PRIVMSG', ['NickServ', 'IDENTIFY hunter2'], ['NickServ', `IDENTIFY ${R}`]],
    ['PRIVMSG', ['nickserv', 'IDENTIFY alice hunter2'], ['nickserv', `IDENTIFY ${R}`]],
    ['PRIVMSG', ['NickServ', 'GHOST alice hunter2'], ['NickServ', `GHOST ${R}`]],
    ['PRIVMSG', ['NickServ', 'RECOVER alice hunter2'], ['NickServ', `RECOVER ${R}`]],
    ['PRIVMSG', ['NickServ', 'SET PASSWORD hunter2'], ['NickServ', `SET ${R}`]],
    ['PRIVMSG', ['NickServ', 'REGISTER hunter2 alice@example.org'], ['NickServ', `REGISTER ${R}`]],
    ['PRIVMSG', ['ChanServ', 'SET #c PASSWORD hunter2'], ['ChanServ', `SET ${R}`]],
    ['PRIVMSG', ['AuthServ', 'AUTH alice hunter2'], ['AuthServ', `AUTH ${R}`]],
    ['PRIVMSG', ['NickServ@services.example.net', 'IDENTIFY hunter2'], ['NickServ@services.example.net', `IDENTIFY ${R}`]],
    ['PRIVMSG', ['Q@CServe.quakenet.org', 'AUTH alice hunter2'], ['Q@CServe.quakenet.org', `AUTH ${R}`]],
    ['PRIVMSG', ['#chan,NickServ', 'IDENTIFY hunter2'], ['#chan,NickServ', `IDENTIFY ${R}`]],
    ['NOTICE', ['NickServ', 'IDENTIFY hunter2'], ['NickServ', `IDENTIFY ${R}`]],
    ['SQUERY', ['NickServ', 'IDENTIFY hunter2'], ['NickServ', `IDENTIFY ${R}`]],
    ['PRIVMSG', ['NickServ', 'HELP'], ['NickServ', 'HELP']],
    ['NS', ['IDENTIFY', 'hunter2'], [`IDENTIFY ${R}`]],
    ['NS', ['IDENTIFY hunter2'], [`IDENTIFY ${R}`]],
    ['NICKSERV', ['IDENTIFY', 'alice', 'hunter2'], [`IDENTIFY ${R}`]],
    ['CS', ['SET', '#c', 'PASSWORD', 'hunter2'], [`SET ${R}`]],
    ['CHANSERV', ['IDENTIFY #c hunter2'], [`IDENTIFY ${R}`]],
    ['HOSTSERV', ['ON'], ['ON']],
  ])('%s %j to services keeps only the command word', (command, params, loggable) => {
    expect(loggableParams(command, params)).toEqual(loggable);
  });

  it('redacts messages to services named otherwise, as the server tells it', () => {
    const isService = (t: string) => t.toLowerCase() === 'nicky';
    expect(loggableParams('PRIVMSG', ['Nicky', 'IDENTIFY hunter2'], isService)).toEqual(['Nicky', `IDENTIFY ${R}`]);
    expect(loggableParams('PRIVMSG', ['#c,nicky', 'IDENTIFY hunter2'], isService)).toEqual(['#c,nicky', `IDENTIFY ${R}`]);
    expect(loggableParams('PRIVMSG', ['bob', 'IDENTIFY hunter2'], isService)).toEqual(['bob', 'IDENTIFY hunter2']);
  });

  it.each([
    ['PRIVMSG', ['#c', 'hi there']],
    ['PRIVMSG', ['#observ', 'hi there']], // a channel, not a service
    ['PRIVMSG', ['@#c', 'hi ops']], // STATUSMSG, not nick@server
    ['PRIVMSG', ['alice', 'IDENTIFY is a word']],
    ['NICK', ['alice']],
  ])('%s %j carries no secret and is kept', (command, params) => {
    expect(loggableParams(command, params)).toEqual(params);
  });

  it('redacts something of every loaded command whose synopsis names a password, code or SASL data', () => {
    const secretive = allModules()
      .flatMap((m) => Object.entries(m.commands ?? {}))
      .filter(([, def]) => /<(password|code|base64 data)>/.test(def.help?.[0] ?? ''))
      .map(([name]) => name);
    expect(secretive).toEqual(expect.arrayContaining(['PASS', 'OPER', 'AUTHENTICATE', 'WEBIRC', 'REGISTER', 'VERIFY', 'ACCOUNT']));
    for (const name of secretive) {
      const params = ['p0', 'p1', 'p2', 'p3', 'p4'];
      expect(loggableParams(name, params), name).toContain(R);
    }
  });
});

describe('journald priorities', () => {
  it('maps pino levels to syslog priorities', () => {
    expect([60, 50, 40, 30, 20, 10].map(syslogPriority)).toEqual([2, 3, 4, 6, 7, 7]);
  });

  it('takes a stream for the journal only when JOURNAL_STREAM names it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ircd-journal-'));
    const fd = openSync(join(dir, 'out'), 'w');
    try {
      const st = fstatSync(fd);
      expect(isJournalStream(fd, { JOURNAL_STREAM: `${st.dev}:${st.ino}` })).toBe(true);
      expect(isJournalStream(fd, {})).toBe(false);
      expect(isJournalStream(fd, { JOURNAL_STREAM: `${st.dev}:${st.ino + 1}` })).toBe(false);
    } finally {
      closeSync(fd);
    }
  });
});
