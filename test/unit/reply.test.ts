// Reply: labeled-response (ACK, one labeled line, a labeled-response batch), nested batches with
// reference tags from one counter per connection, and bare lines for clients without batch.
import { describe, expect, it } from 'vitest';
import type { ClassConfig } from '../../src/config/schema.js';
import type { Connection } from '../../src/net/connection.js';
import type { Message } from '../../src/protocol/message.js';
import { CAP, capsWith, NO_CAPS, type Cap } from '../../src/server/caps.js';
import { User, runAsSession } from '../../src/server/user.js';
import { Session } from '../../src/server/session.js';
import { relay } from '../../src/server/outgoing.js';
import { Reply, replyTo } from '../../src/server/reply.js';

const LABELS = [CAP['labeled-response'], CAP.batch];
let connIds = 0;

/** A connection that keeps what is written to it, as lines without CRLF. */
function recording(): { conn: Connection; wire: string[] } {
  const wire: string[] = [];
  const take = (text: string) => wire.push(...text.split('\r\n').filter(Boolean));
  const conn = {
    id: ++connIds,
    ip: '127.0.0.1',
    closed: false,
    writeText: take,
    write: (buf: Buffer) => take(buf.toString('utf8')),
  } as unknown as Connection;
  return { conn, wire };
}

/** A client with one session on a recording connection. */
function connected(caps: Cap[], nick = 'me'): { client: User; wire: string[] } {
  const { conn, wire } = recording();
  const client = User.connectedOn(conn, {} as ClassConfig, () => 'irc.test');
  client.nick = nick;
  client.session.caps = capsWith(NO_CAPS, caps, []);
  return { client, wire };
}

/** Runs a command the way the router runs a labeled one. */
function labeled(client: User, label: string, handler: (reply: Reply) => void): void {
  const reply = new Reply(client.session, label).begin();
  handler(reply);
  reply.end();
}

const notice = (text: string): Message => ({ source: 'irc.test', command: 'NOTICE', params: ['me', text] });

describe('Reply: labels', () => {
  it('ACKs a labeled command that says nothing', () => {
    const { client, wire } = connected(LABELS);
    labeled(client, 'a1', () => {});
    expect(wire).toEqual(['@label=a1 :irc.test ACK']);
  });

  it('puts the label on the only line', () => {
    const { client, wire } = connected(LABELS);
    labeled(client, 'a2', () => client.numeric('401', 'nobody', 'No such nick/channel'));
    expect(wire).toEqual(['@label=a2 :irc.test 401 me nobody :No such nick/channel']);
  });

  it('wraps several lines in one labeled-response batch, lines sent through the client included', () => {
    const { client, wire } = connected(LABELS);
    labeled(client, 'a3', (reply) => {
      client.numeric('311', 'me', 'u', 'h', '*', 'Me');
      reply.send(notice('two'));
    });
    expect(wire).toEqual([
      '@label=a3 :irc.test BATCH +1 labeled-response',
      '@batch=1 :irc.test 311 me me u h * Me',
      '@batch=1 :irc.test NOTICE me two',
      ':irc.test BATCH -1',
    ]);
  });

  it('sends nothing extra for a command without a label', () => {
    const { client, wire } = connected(LABELS);
    const reply = replyTo(client);
    expect(reply.labeled).toBe(false);
    client.numeric('301', 'bob', 'away');
    reply.end();
    expect(wire).toEqual([':irc.test 301 me bob away']);
  });

  it('labels only the echo of a message to oneself, not the copy received as its target', () => {
    const { client, wire } = connected([...LABELS, CAP['echo-message']]);
    labeled(client, 'a4', () => {
      const out = relay(undefined, { source: 'me!u@h', command: 'PRIVMSG', params: ['me', 'hi'] });
      client.sendOutgoing(out, true);
      client.sendOutgoing(out);
    });
    expect(wire).toEqual([':me!u@h PRIVMSG me hi', '@label=a4 :me!u@h PRIVMSG me hi']);
  });
});

describe('Reply: batches', () => {
  it('nests a batch in the labeled-response batch, tagging each line with the innermost batch', () => {
    const { client, wire } = connected([...LABELS, CAP['message-tags']]);
    labeled(client, 'b1', (reply) => {
      reply.batch('chathistory', ['#h'], () => {
        reply.send(notice('one'));
        reply.batch('draft/multiline', ['#h'], [notice('two'), notice('three')], { source: 'bob!u@h', tags: { msgid: 'm2' } });
        client.numeric('NOTICE', 'four');
      });
    });
    expect(wire).toEqual([
      '@label=b1 :irc.test BATCH +3 labeled-response',
      '@batch=3 :irc.test BATCH +1 chathistory #h',
      '@batch=1 :irc.test NOTICE me one',
      '@msgid=m2;batch=1 :bob!u@h BATCH +2 draft/multiline #h',
      '@batch=2 :irc.test NOTICE me two',
      '@batch=2 :irc.test NOTICE me three',
      '@batch=1 :irc.test BATCH -2',
      '@batch=1 :irc.test NOTICE me four',
      '@batch=3 :irc.test BATCH -1',
      ':irc.test BATCH -3',
    ]);
  });

  it('leaves a line that is in a batch of its own in it', () => {
    const { client, wire } = connected(LABELS);
    labeled(client, 'b2', (reply) => {
      reply.batch('metadata', ['me'], [{ ...notice('own'), tags: { batch: 'x' } }, notice('plain')]);
    });
    expect(wire.slice(1, 5)).toEqual([
      '@batch=2 :irc.test BATCH +1 metadata me',
      '@batch=x :irc.test NOTICE me own',
      '@batch=1 :irc.test NOTICE me plain',
      '@batch=2 :irc.test BATCH -1',
    ]);
  });

  it('writes the batch at once when the command has no label', () => {
    const { client, wire } = connected([CAP.batch]);
    replyTo(client).batch('metadata', ['me'], () => {
      expect(wire).toEqual([':irc.test BATCH +1 metadata me']);
      client.numeric('761', 'me', 'k', '*', 'v');
    });
    expect(wire).toEqual([':irc.test BATCH +1 metadata me', '@batch=1 :irc.test 761 me me k * v', ':irc.test BATCH -1']);
    // Lines after the batch are outside it.
    client.numeric('NOTICE', 'after');
    expect(wire.at(-1)).toBe(':irc.test NOTICE me after');
  });

  it('closes a batch whose body throws', () => {
    const { client, wire } = connected([CAP.batch]);
    expect(() =>
      replyTo(client).batch('metadata', [], () => {
        throw new Error('bug');
      }),
    ).toThrow('bug');
    expect(wire).toEqual([':irc.test BATCH +1 metadata', ':irc.test BATCH -1']);
    expect(client.session.reply).toBeUndefined();
  });

  it('gives each connection one counter for all its batches, the labeled-response ones included', () => {
    const one = connected(LABELS);
    const two = connected(LABELS);
    labeled(one.client, 'c1', (reply) => reply.batch('metadata', [], [notice('x')]));
    replyTo(one.client).batch('chathistory', ['#h'], []);
    labeled(two.client, 'c2', (reply) => reply.batch('metadata', [], []));
    const refs = (wire: string[]) => wire.filter((l) => / BATCH \+/.test(l)).map((l) => / BATCH \+(\S+)/.exec(l)![1]);
    expect(refs(one.wire)).toEqual(['2', '1', '3']);
    expect(refs(two.wire)).toEqual(['2', '1']);
  });
});

describe('Reply: clients without batch', () => {
  it('sends the lines of a batch bare', () => {
    const { client, wire } = connected([]);
    replyTo(client).batch('chathistory', ['#h'], [notice('one'), notice('two')]);
    expect(wire).toEqual([':irc.test NOTICE me one', ':irc.test NOTICE me two']);
  });

  it('sends several replies to a labeled command unlabeled (labeled-response needs batch)', () => {
    const { client, wire } = connected([CAP['labeled-response']]);
    labeled(client, 'd1', (reply) => reply.batch('metadata', [], [notice('one'), notice('two')]));
    expect(wire).toEqual([':irc.test NOTICE me one', ':irc.test NOTICE me two']);
  });
});

describe('Reply: answers given elsewhere', () => {
  it('defers the label: no ACK now, and the label for the command that answers it', () => {
    const { client, wire } = connected(LABELS);
    let label: string | undefined;
    labeled(client, 'e1', (reply) => {
      label = reply.defer();
      client.numeric('NOTICE', 'not the answer');
    });
    expect(label).toBe('e1');
    expect(wire).toEqual([':irc.test NOTICE me :not the answer']);
  });

  it('lets an answer that is one batch carry the label itself, and wraps it when more came', () => {
    const { client, wire } = connected(LABELS);
    const echo = (reply: Reply) => {
      reply.letBatchCarryLabel();
      for (const line of [
        { source: 'me!u@h', command: 'BATCH', params: ['+m', 'draft/multiline', '#c'] },
        { source: 'me!u@h', command: 'PRIVMSG', params: ['#c', 'hi'], tags: { batch: 'm' } },
        { source: 'irc.test', command: 'BATCH', params: ['-m'] },
      ])
        client.send(line);
    };
    labeled(client, 'e2', echo);
    expect(wire.splice(0)).toEqual(['@label=e2 :me!u@h BATCH +m draft/multiline #c', '@batch=m :me!u@h PRIVMSG #c hi', ':irc.test BATCH -m']);
    labeled(client, 'e3', (reply) => {
      client.numeric('301', 'bob', 'away');
      echo(reply);
    });
    expect(wire[0]).toBe('@label=e3 :irc.test BATCH +1 labeled-response');
    expect(wire[2]).toBe('@batch=1 :me!u@h BATCH +m draft/multiline #c');
    expect(wire.at(-1)).toBe(':irc.test BATCH -1');
  });

  it('sends what was said before the connection closes, without an ACK for silence', () => {
    const { client, wire } = connected(LABELS);
    const silent = new Reply(client.session, 'f1').begin();
    silent.endBeforeClose();
    silent.end();
    expect(wire).toEqual([]);
    const refused = new Reply(client.session, 'f2').begin();
    client.numeric('464', 'Password incorrect');
    refused.endBeforeClose();
    client.numeric('NOTICE', 'late');
    refused.end();
    expect(wire).toEqual(['@label=f2 :irc.test 464 me :Password incorrect', ':irc.test NOTICE me late']);
  });
});

describe('Reply: multiclient', () => {
  it('answers the session that asked, with its own counter; other sessions get nothing', () => {
    const user = connected(LABELS, 'alys');
    const second = recording();
    const session = new Session(second.conn, {} as ClassConfig, user.client);
    session.caps = user.client.session.caps;
    user.client.sessions.push(session);
    runAsSession(session, () => {
      labeled(user.client, 'g1', (reply) => {
        reply.batch('metadata', [], [notice('x')]);
        user.client.numeric('NOTICE', 'y');
      });
    });
    expect(user.wire).toEqual([]);
    expect(second.wire[0]).toBe('@label=g1 :irc.test BATCH +2 labeled-response');
    expect(second.wire).toHaveLength(6);
  });
});
