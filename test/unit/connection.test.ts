// Connection framing: a bare CR inside a line is flagged; output lines and shared Buffers leave in
// the order written within a tick, and a line queued with writeAfterTick (the PONG) after them all.
// The farewell ERROR line counts against the sendq like any output. Flood tokens: one per line,
// more for a command that charges a penalty.
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { Connection, type ConnectionOwner } from '../../src/net/connection.js';
import { FlushQueue } from '../../src/net/flush.js';

class CaptureSocket extends EventEmitter {
  remoteAddress = '127.0.0.1';
  remotePort = 1;
  writableLength = 0;
  destroyed = false;
  written = '';
  setNoDelay() {}
  write(data: Buffer | string) {
    this.written += data.toString();
    return true;
  }
  end() {}
  destroy() {
    this.destroyed = true;
  }
}

const owner: ConnectionOwner = { handleLine: () => {}, connectionClosed: () => {}, throttled: () => {} };
const cfg = validateConfig({ listen: [{ port: 0 }], class: [{ name: 'c' }], allow: [{ mask: '*', class: 'c' }] }, 'test');

describe('Connection output', () => {
  it('keeps the order of text and Buffers, and puts writeAfterTick lines last', () => {
    const socket = new CaptureSocket();
    const conn = new Connection(socket, owner, cfg.class[0]!, { lineLength: 512, tagLength: 4096 }, new FlushQueue());
    conn.writeAfterTick('PONG me\r\n');
    conn.writeText('001 a\r\n');
    conn.write(Buffer.from('PRIVMSG shared\r\n'));
    conn.writeText('002 b\r\n');
    conn.flush();
    expect(socket.written).toBe('001 a\r\nPRIVMSG shared\r\n002 b\r\nPONG me\r\n');
    conn.write(Buffer.from('later\r\n'));
    conn.flush();
    expect(socket.written.endsWith('PONG me\r\nlater\r\n')).toBe(true);
  });

  it('writes text alone as one string and counts its UTF-8 bytes', () => {
    const socket = new CaptureSocket();
    const writes: Array<Buffer | string> = [];
    socket.write = (data) => (writes.push(data), true);
    const conn = new Connection(socket, owner, cfg.class[0]!, { lineLength: 512, tagLength: 4096 }, new FlushQueue());
    conn.writeText('NOTICE a :héllo\r\n');
    conn.writeText('NOTICE a :→\r\n');
    conn.flush();
    expect(writes).toEqual(['NOTICE a :héllo\r\nNOTICE a :→\r\n']);
    expect(conn.bytesOut).toBe(Buffer.byteLength(writes[0]!));
    conn.flush();
    expect(writes).toHaveLength(1);
  });

  it('writes one joined copy for connections sent the same shared lines, and its own for another', () => {
    const written: Array<Buffer | string> = [];
    const flushes = new FlushQueue();
    const conns = Array.from({ length: 3 }, () => {
      const socket = new CaptureSocket();
      socket.write = (data) => (written.push(data), true);
      return new Connection(socket, owner, cfg.class[0]!, { lineLength: 512, tagLength: 4096 }, flushes);
    });
    const [a, b] = [Buffer.from(':x PRIVMSG #c :one\r\n'), Buffer.from(':x PRIVMSG #c :two\r\n')];
    conns[0]!.write(a);
    conns[0]!.write(b);
    conns[1]!.write(a);
    conns[1]!.write(b);
    conns[2]!.write(b);
    conns[2]!.write(a);
    flushes.flushAll();
    expect(written.map(String)).toEqual([`${a}${b}`, `${a}${b}`, `${b}${a}`]);
    expect(written[1]).toBe(written[0]);
    expect(written[2]).not.toBe(written[0]);
  });

  it('hands output over at the next socket event once it has waited 5 ms in a long turn', () => {
    const flushes = new FlushQueue();
    const bystander = new CaptureSocket();
    const other = new CaptureSocket();
    const conn = new Connection(bystander, owner, cfg.class[0]!, { lineLength: 512, tagLength: 4096 }, flushes);
    new Connection(other, owner, cfg.class[0]!, { lineLength: 512, tagLength: 4096 }, flushes);
    conn.writeText('PONG x\r\n');
    // Another socket's end, at once: a tick boundary has not come, so the reply still waits.
    other.emit('end');
    expect(bystander.written).toBe('');
    // The same turn, 6 ms on (thousands of other sockets' events handled meanwhile).
    const until = performance.now() + 6;
    while (performance.now() < until);
    other.emit('end');
    expect(bystander.written).toBe('PONG x\r\n');
  });
});

describe('Connection close', () => {
  const small = validateConfig({ listen: [{ port: 0 }], class: [{ name: 'c', sendq: 1024 }], allow: [{ mask: '*', class: 'c' }] }, 'test');

  /**
   * Queues a line and closes a connection whose socket holds `unsent` bytes the kernel has not
   * taken; the close finishes in a later turn of the event loop.
   */
  async function killWith(unsent: number): Promise<CaptureSocket> {
    const socket = new CaptureSocket();
    socket.writableLength = unsent;
    const conn = new Connection(socket, owner, small.class[0]!, { lineLength: 512, tagLength: 4096 }, new FlushQueue());
    conn.writeText('NOTICE a :queued\r\n');
    conn.close({ kind: 'kill', text: 'Killed (oper (bye))' });
    await new Promise((resolve) => setImmediate(resolve));
    return socket;
  }

  it('sends the ERROR line when it fits in the sendq, and otherwise drops it with the rest of the queue', async () => {
    expect((await killWith(0)).written).toBe('NOTICE a :queued\r\nERROR :Closing Link: 127.0.0.1 (Killed (oper (bye)))\r\n');
    const full = await killWith(1000);
    expect([full.written, full.destroyed]).toEqual(['', true]);
  });
});

describe('Connection input', () => {
  it('flags a CR anywhere but before the final LF, and only that', () => {
    const seen: Array<[string, string | undefined]> = [];
    const recorder: ConnectionOwner = { ...owner, handleLine: (_c, line, problem) => void seen.push([line, problem]) };
    const conn = new Connection(new CaptureSocket(), recorder, cfg.class[0]!, { lineLength: 512, tagLength: 4096 }, new FlushQueue());
    conn.onData(Buffer.from('PRIVMSG #p :crlf\r\nPRIVMSG #p :lf\nPRIVMSG #p :a\r:irc.example.net NOTICE you :b\r\n@+k\r=v TAGMSG #p\nAWAY :x\r\r\n'));
    expect(seen).toEqual([
      ['PRIVMSG #p :crlf', undefined],
      ['PRIVMSG #p :lf', undefined],
      ['PRIVMSG #p :a\r:irc.example.net NOTICE you :b', 'cr'],
      ['@+k\r=v TAGMSG #p', 'cr'],
      ['AWAY :x\r', 'cr'],
    ]);
  });
});

describe('Connection flood tokens', () => {
  afterEach(() => vi.useRealTimers());

  /** The lines a connection handles at once out of `lines`, when `penalised` ones charge 4 more tokens each. */
  function handledAtOnce(lines: string[], penalised: string): string[] {
    vi.useFakeTimers({ toFake: ['Date'] }); // no refill while the lines are read
    const klass = validateConfig(
      { listen: [{ port: 0 }], class: [{ name: 'c', flood: { burst: 10, rate: 1 } }], allow: [{ mask: '*', class: 'c' }] },
      'test',
    ).class[0]!;
    const handled: string[] = [];
    const counting: ConnectionOwner = {
      ...owner,
      handleLine: (conn, line) => {
        handled.push(line);
        if (line === penalised) conn.charge(4);
      },
    };
    const conn = new Connection(new CaptureSocket(), counting, klass, { lineLength: 512, tagLength: 4096 }, new FlushQueue());
    conn.onData(Buffer.from(lines.map((l) => l + '\r\n').join('')));
    return handled;
  }

  it('handles a burst of lines, and fewer when each charges a penalty', () => {
    expect(handledAtOnce(Array(12).fill('PING'), 'LIST')).toHaveLength(10);
    // 10 tokens: 5 for each LIST, so the third waits for the refill, and the PING behind it too.
    expect(handledAtOnce(['LIST', 'LIST', 'LIST', 'PING'], 'LIST')).toEqual(['LIST', 'LIST']);
  });
});

describe('Flush queue', () => {
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('spreads thousands of writes over turns, new output first, the backlog after it', async () => {
    const flushes = new FlushQueue();
    const order: string[] = [];
    const connection = (name: string, writeMs: number) => {
      const socket = new CaptureSocket();
      socket.write = () => {
        // A slow write (a syscall to a peer that is going away): the turn's budget runs out.
        const until = performance.now() + writeMs;
        while (performance.now() < until);
        order.push(name);
        return true;
      };
      return new Connection(socket, owner, cfg.class[0]!, { lineLength: 512, tagLength: 4096 }, flushes);
    };
    const quitters = Array.from({ length: 40 }, (_, i) => connection(`q${i}`, 0.2));
    for (const q of quitters) q.writeText(':x QUIT :gone\r\n');
    await nextTurn();
    // 32 writes of 0.2 ms pass the 5 ms budget: the rest waits for the next turn.
    expect(order).toHaveLength(32);
    const bystander = connection('bystander', 0);
    bystander.writeText('PONG x\r\n');
    await nextTurn();
    expect(order.slice(32)).toEqual(['bystander', ...quitters.slice(32).map((_, i) => `q${32 + i}`)]);
  });

  it('writes everything at once when asked to (a shutdown)', () => {
    const flushes = new FlushQueue();
    const sockets = Array.from({ length: 3 }, () => new CaptureSocket());
    for (const s of sockets) new Connection(s, owner, cfg.class[0]!, { lineLength: 512, tagLength: 4096 }, flushes).writeText('ERROR :bye\r\n');
    flushes.flushAll();
    expect(sockets.map((s) => s.written)).toEqual(['ERROR :bye\r\n', 'ERROR :bye\r\n', 'ERROR :bye\r\n']);
  });
});
