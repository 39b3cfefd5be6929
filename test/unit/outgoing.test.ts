import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/protocol/message.js';
import { CAP } from '../../src/server/caps.js';
import { Outgoing } from '../../src/server/outgoing.js';

describe('Outgoing (fan-out serialization)', () => {
  const out = () =>
    new Outgoing(
      { source: 'a!b@c', command: 'PRIVMSG', params: ['#chan', 'hello world'] },
      { time: '2026-01-01T00:00:00.000Z', msgid: 'm1', '+draft/react': 'x', account: 'acct' },
    );

  it('builds one wire form per distinct view and reuses the same Buffer for every recipient', () => {
    const o = out();
    const views = [0, CAP['server-time'], CAP['message-tags'], CAP['message-tags'] | CAP['server-time'] | CAP['echo-message']];
    const buffers = new Map<number, Buffer>();
    for (let i = 0; i < 1000; i++) {
      const caps = views[i % views.length]!;
      const buf = o.bufferFor(caps);
      const first = buffers.get(caps);
      if (first) expect(buf).toBe(first);
      else buffers.set(caps, buf);
    }
    expect(o.viewCount).toBe(4);
  });

  it('caps that gate no tag do not create new views', () => {
    const o = out();
    o.bufferFor(CAP['multi-prefix']);
    o.bufferFor(CAP['echo-message'] | CAP['away-notify']);
    o.bufferFor(0);
    expect(o.viewCount).toBe(1);
  });

  it('shows each recipient only the tags its capabilities allow', () => {
    const o = out();
    expect(o.bufferFor(0).toString()).toBe(':a!b@c PRIVMSG #chan :hello world\r\n');
    expect(parseMessage(o.bufferFor(CAP['server-time']).toString().trimEnd()).tags).toEqual({ time: '2026-01-01T00:00:00.000Z' });
    expect(parseMessage(o.bufferFor(CAP['message-tags']).toString().trimEnd()).tags).toEqual({ msgid: 'm1', '+draft/react': 'x' });
    expect(parseMessage(o.bufferFor(CAP['account-tag']).toString().trimEnd()).tags).toEqual({ account: 'acct' });
  });
});
