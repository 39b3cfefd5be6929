// Reading the PROXY protocol header (protocol/proxy.ts) off a new socket of a listener with
// `proxy = true`, before TLS, WebSocket or IRC see a byte: bounded in time and size, and whatever
// follows the header is left in the socket for them.
import type { Socket } from 'node:net';
import { parseProxyHeader, V1_MAX_LENGTH, V2_MAX_PAYLOAD, type ProxyHeader } from '../protocol/proxy.js';

/** How long a proxy has to send the header: it sends it at once, before anything of the client's. */
export const PROXY_HEADER_TIMEOUT_MS = 5_000;
/** Bytes held while waiting for a header: the longest one accepted (a v2 header with its TLVs). */
const MAX_HEADER_BYTES = Math.max(V1_MAX_LENGTH, 16 + V2_MAX_PAYLOAD);

/** The client behind a proxy, as a connection should show it. */
export interface Peer {
  ip: string;
  port: number;
  /** The client reached the proxy over TLS (v2 SSL TLV), which terminated it. */
  secure: boolean;
}

/**
 * Waits for the header. On success the socket is paused with the bytes after the header put back;
 * whoever takes it resumes it (or hands it to TLS, which reads what is buffered). On failure (no
 * header in time, bytes that are not one, the peer gone) the reason is given and the caller closes it.
 */
export function readProxyHeader(socket: Socket, timeoutMs = PROXY_HEADER_TIMEOUT_MS): Promise<{ header: ProxyHeader } | { refused: string }> {
  return new Promise((resolve) => {
    let buf: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (result: { header: ProxyHeader } | { refused: string }, rest?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.pause();
      socket.off('data', onData);
      socket.off('close', onClose);
      if (rest && rest.length > 0) socket.unshift(rest);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const parsed = parseProxyHeader(buf);
      if ('header' in parsed) return finish({ header: parsed.header }, buf.subarray(parsed.length));
      if ('error' in parsed) return finish({ refused: parsed.error });
      if (buf.length > MAX_HEADER_BYTES) finish({ refused: 'PROXY header too long' });
    };
    const onClose = () => finish({ refused: 'closed before the PROXY header' });
    const timer = setTimeout(() => finish({ refused: 'no PROXY header in time' }), timeoutMs);
    timer.unref();
    socket.on('data', onData);
    socket.once('close', onClose);
    // Stays on: an error between here and whoever takes the socket must not go unheard.
    socket.on('error', onClose);
  });
}
