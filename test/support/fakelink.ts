// A fake TS6 server a test drives line by line over a real socket: it does the handshake as
// `name` (SID `sid`) with the daemon `peer`, answers the daemon's PINGs, keeps every line it
// receives, and syncs with a PING whose PONG says the daemon applied everything sent before.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md
import { connect, type Socket } from 'node:net';
import { parseMessage } from '../../src/protocol/message.js';
import { LINK_PASSWORD } from './link.js';

export interface FakeServer {
  name: string;
  sid: string;
  /** The daemon's server name. */
  peer: string;
}

export class FakeLink {
  readonly lines: string[] = [];
  closed = false;
  private buf = '';
  private waiters: Array<() => void> = [];
  private pings = 0;

  private constructor(
    readonly socket: Socket,
    readonly me: FakeServer,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\r\n')) !== -1) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        this.lines.push(line);
        // The daemon's keepalive and end-of-burst PINGs are answered, as a server does.
        const m = parseMessage(line);
        if (m.command === 'PING') this.write([`:${me.sid} PONG ${me.name} ${m.source ?? ''}`]);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Connects to the daemon's server port and does the handshake (PASS, CAPAB, SERVER, SVINFO); its burst is the caller's. */
  static async open(port: number, me: FakeServer): Promise<FakeLink> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
    const f = new FakeLink(socket, me);
    const now = Math.floor(Date.now() / 1000);
    f.write([`PASS ${LINK_PASSWORD} TS 6 :${me.sid}`, 'CAPAB :QS EX IE ENCAP EUID TB', `SERVER ${me.name} 1 :fake`, `SVINFO 6 6 0 :${now}`]);
    if (!(await f.until((l) => l.endsWith(` PING ${me.peer} ${me.sid}`)))) throw new Error(`no handshake with ${me.peer}:\n${f.lines.slice(-5).join('\n')}`);
    return f;
  }

  write(lines: Array<string | Buffer>): void {
    if (this.closed) return;
    this.socket.write(Buffer.concat(lines.flatMap((l) => [typeof l === 'string' ? Buffer.from(l) : l, Buffer.from('\r\n')])));
  }

  async until(pred: (line: string, index: number) => boolean, timeout = 5000): Promise<boolean> {
    const deadline = Date.now() + timeout;
    for (let i = 0; ; ) {
      for (; i < this.lines.length; i++) if (pred(this.lines[i]!, i)) return true;
      if (this.closed || Date.now() > deadline) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** A PING whose PONG says the daemon applied everything before it; false when the link closed instead. */
  async sync(): Promise<boolean> {
    const token = `sync${++this.pings}`;
    const from = this.lines.length;
    this.write([`PING :${token}`]);
    const ok = await this.until((l, i) => i >= from && l.endsWith(` PONG ${this.me.peer} ${token}`), 10000);
    return ok && !this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}
