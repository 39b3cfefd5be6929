import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/protocol/message.js';
import { CAP, capsWith, NO_CAPS, type Cap } from '../../src/server/caps.js';
import { Outgoing } from '../../src/server/outgoing.js';

const caps = (...held: Cap[]) => capsWith(NO_CAPS, held, []);

describe('Outgoing (fan-out serialization)', () => {
  const out = () =>
    new Outgoing(
      { source: 'a!b@c', command: 'PRIVMSG', params: ['#chan', 'hello world'] },
      { time: '2026-01-01T00:00:00.000Z', msgid: 'm1', '+draft/react': 'x', account: 'acct' },
    );

  it('builds one wire form per distinct view and reuses the same Buffer for every recipient', () => {
    const o = out();
    const views = [caps(), caps(CAP['server-time']), caps(CAP['message-tags']), caps(CAP['message-tags'], CAP['server-time'], CAP['echo-message'])];
    const buffers = new Map<number, Buffer>();
    for (let i = 0; i < 1000; i++) {
      const view = i % views.length;
      const buf = o.bufferFor(views[view]!);
      const first = buffers.get(view);
      if (first) expect(buf).toBe(first);
      else buffers.set(view, buf);
    }
    expect(o.viewCount).toBe(4);
  });

  it('caps that gate no tag do not create new views', () => {
    const o = out();
    o.bufferFor(caps(CAP['multi-prefix']));
    o.bufferFor(caps(CAP['echo-message'], CAP['away-notify']));
    o.bufferFor(caps(40)); // past the first word
    o.bufferFor(NO_CAPS);
    expect(o.viewCount).toBe(1);
  });

  it('shows each recipient only the tags its capabilities allow', () => {
    const o = out();
    expect(o.bufferFor(NO_CAPS).toString()).toBe(':a!b@c PRIVMSG #chan :hello world\r\n');
    expect(parseMessage(o.bufferFor(caps(CAP['server-time'])).toString().trimEnd()).tags).toEqual({ time: '2026-01-01T00:00:00.000Z' });
    expect(parseMessage(o.bufferFor(caps(CAP['message-tags'])).toString().trimEnd()).tags).toEqual({ msgid: 'm1', '+draft/react': 'x' });
    expect(parseMessage(o.bufferFor(caps(CAP['account-tag'])).toString().trimEnd()).tags).toEqual({ account: 'acct' });
  });
});
