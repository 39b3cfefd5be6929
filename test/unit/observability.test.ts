import { describe, expect, it } from 'vitest';
import { loggableParams } from '../../src/observability/log.js';
import { COMMAND_SECONDS_BUCKETS, listenerLabel, Stats } from '../../src/observability/stats.js';

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
  it('removes passwords and SASL payloads but keeps what helps debugging', () => {
    expect(loggableParams('PASS', ['hunter2'])).toEqual(['[redacted]']);
    expect(loggableParams('OPER', ['root', 'hunter2'])).toEqual(['root', '[redacted]']);
    expect(loggableParams('AUTHENTICATE', ['AGFsaWNlAGh1bnRlcjI='])).toEqual(['[redacted]']);
    expect(loggableParams('REGISTER', ['alice', '*', 'hunter2'])).toEqual(['alice', '[redacted]', '[redacted]']);
    expect(loggableParams('ACCOUNT', ['CREATE', 'bob', 'hunter2'])).toEqual(['CREATE', 'bob', '[redacted]']);
    expect(loggableParams('PRIVMSG', ['#c', 'hi'])).toEqual(['#c', 'hi']);
  });
});
