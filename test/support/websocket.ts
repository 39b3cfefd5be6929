// A small RFC 6455 client for tests (Node 20 has no WebSocket client): the upgrade request,
// masked frames out, frames in, one IRC line per message.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface UpgradeRequest {
  protocols?: string[];
  headers?: Record<string, string>;
}

export interface WsMessage {
  opcode: number;
  data: Buffer;
}

export class TestWebSocket {
  readonly messages: WsMessage[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];

  private constructor(
    readonly socket: Socket,
    readonly response: string,
    rest: Buffer,
  ) {
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
    this.read(rest);
  }

  /** Connects and upgrades; `headers` go into the request as they are (e.g. Origin). */
  static async open(port: number, opts: UpgradeRequest & { localAddress?: string } = {}): Promise<TestWebSocket> {
    const socket = connect({ host: '127.0.0.1', port, localAddress: opts.localAddress });
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return TestWebSocket.upgrade(socket, opts);
  }

  /** Sends the upgrade request on a connected socket and waits for the response. */
  static upgrade(socket: Socket, opts: UpgradeRequest = {}): Promise<TestWebSocket> {
    return new Promise((resolve, reject) => {
      const extra = Object.entries(opts.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      const protocols = opts.protocols?.length ? `Sec-WebSocket-Protocol: ${opts.protocols.join(', ')}\r\n` : '';
      socket.write(
        'GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${protocols}${extra}\r\n`,
      );
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.off('data', onData);
        resolve(new TestWebSocket(socket, head.subarray(0, end).toString('latin1'), head.subarray(end + 4)));
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('closed before the upgrade')));
    });
  }

  /** Sends one message (masked, as clients must), optionally split into fragments. */
  send(data: string | Buffer, opts: { opcode?: number; fragments?: number } = {}): void {
    const payload = typeof data === 'string' ? Buffer.from(data) : data;
    const parts = opts.fragments ?? 1;
    const size = Math.ceil(payload.length / parts);
    for (let i = 0; i < parts; i++) {
      const piece = payload.subarray(i * size, (i + 1) * size);
      this.socket.write(maskedFrame(i === 0 ? (opts.opcode ?? 0x1) : 0x0, piece, i === parts - 1));
    }
  }

  /** Waits for a message whose text matches. */
  async waitFor(match: (text: string, m: WsMessage) => boolean, timeout = 3000): Promise<WsMessage> {
    const deadline = Date.now() + timeout;
    let i = 0;
    for (;;) {
      for (; i < this.messages.length; i++) if (match(this.messages[i]!.data.toString(), this.messages[i]!)) return this.messages[i]!;
      if (this.closed) throw new Error(`closed; got ${this.texts().join(' | ')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; got ${this.texts().join(' | ')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  texts(): string[] {
    return this.messages.filter((m) => m.opcode === 0x1 || m.opcode === 0x2).map((m) => m.data.toString());
  }

  async register(nick: string): Promise<void> {
    this.send(`NICK ${nick}`);
    this.send('USER web 0 * :Web User');
    await this.waitFor((t) => / 001 /.test(t));
  }

  async waitClosed(timeout = 3000): Promise<void> {
    const deadline = Date.now() + timeout;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (!this.closed) throw new Error('still open');
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private read(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.buf.length < 2) break;
      let len = this.buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) break;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) break;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) break;
      this.messages.push({ opcode: this.buf[0]! & 0x0f, data: Buffer.from(this.buf.subarray(off, off + len)) });
      this.buf = this.buf.subarray(off + len);
    }
    this.wake();
  }
}

/** A client frame: masked, as RFC 6455 requires; `fin` false for all but the last fragment. */
export function maskedFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const len = payload.length;
  const header = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.alloc(header + 4 + len);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = randomBytes(4);
  mask.copy(out, header);
  for (let i = 0; i < len; i++) out[header + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}
