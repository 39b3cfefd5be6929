// A fake TS6 server a test drives line by line over a real socket: it does the handshake as
// `name` (SID `sid`) with the daemon `peer`, answers the daemon's PINGs, keeps every line it
// receives, and syncs with a PING whose PONG says the daemon applied everything sent before.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md
import { parseMessage } from '../../src/protocol/message.js';
import { TestClient } from './harness.js';
import { LINK_PASSWORD } from './link.js';

export interface FakeServer {
  name: string;
  sid: string;
  /** The daemon's server name. */
  peer: string;
}

export class FakeLink {
  private pings = 0;

  private constructor(
    private readonly socket: TestClient,
    readonly me: FakeServer,
  ) {
    // The daemon's keepalive and end-of-burst PINGs are answered, as a server does.
    socket.onLine = (line) => {
      const m = parseMessage(line);
      if (m.command === 'PING') this.write([`:${me.sid} PONG ${me.name} ${m.source ?? ''}`]);
    };
  }

  /** Every line received. */
  get lines(): readonly string[] {
    return this.socket.lines;
  }

  get closed(): boolean {
    return this.socket.closed;
  }

  /** Connects to the daemon's server port and does the handshake (PASS, CAPAB, SERVER, SVINFO); its burst is the caller's. */
  static async open(port: number, me: FakeServer): Promise<FakeLink> {
    const f = new FakeLink(await TestClient.connect(port), me);
    const now = Math.floor(Date.now() / 1000);
    f.write([`PASS ${LINK_PASSWORD} TS 6 :${me.sid}`, 'CAPAB :QS EX IE ENCAP EUID TB', `SERVER ${me.name} 1 :fake`, `SVINFO 6 6 0 :${now}`]);
    await f.socket.waitFor((_, raw) => raw.endsWith(` PING ${me.peer} ${me.sid}`), { from: 0, timeout: 5000 });
    return f;
  }

  write(lines: Array<string | Buffer>): void {
    if (this.closed) return;
    this.socket.sendRaw(Buffer.concat(lines.flatMap((l) => [typeof l === 'string' ? Buffer.from(l) : l, Buffer.from('\r\n')])));
  }

  /** A PING whose PONG says the daemon applied everything before it; false when the link closed instead. */
  async sync(): Promise<boolean> {
    const token = `sync${++this.pings}`;
    const from = this.lines.length;
    this.write([`PING :${token}`]);
    try {
      await this.socket.waitFor((_, raw) => raw.endsWith(` PONG ${this.me.peer} ${token}`), { from, timeout: 10000 });
    } catch {
      return false;
    }
    return !this.closed;
  }

  close(): void {
    this.socket.close();
  }
}
