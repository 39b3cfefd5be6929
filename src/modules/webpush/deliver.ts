// Sending push messages (RFC 8030 section 5, https://www.rfc-editor.org/rfc/rfc8030#section-5):
// one POST per subscription, at most `concurrency` at once and `queue` waiting, each within a
// timeout. Only the status matters; the response body is never read.
import { request } from 'node:https';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';

export interface PushRequest {
  url: URL;
  /** The address checked by resolveDestination: the connection goes there, whatever DNS says later. */
  address: string;
  body: Buffer;
  authorization: string;
  /** Seconds the push service may keep the message for an offline device (RFC 8030 TTL). */
  ttl: number;
  urgency: 'normal' | 'high';
}

/**
 * POSTs an encrypted message; resolves to the HTTP status, or rejects on a network error or when
 * `timeoutMs` passes first. `ca` adds a trusted certificate (PEM) to the usual roots.
 */
export function postPush(req: PushRequest, timeoutMs: number, ca: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const host = req.url.hostname.replace(/^\[(.*)\]$/, '$1');
    const post = request({
      host: req.address,
      port: req.url.port || 443,
      path: req.url.pathname + req.url.search,
      method: 'POST',
      // The certificate is checked against the endpoint's name, sent as SNI when it is one.
      servername: isIP(host) ? undefined : host,
      ca: ca ? [...rootCertificates, ca] : undefined,
      agent: false,
      headers: {
        Host: req.url.host,
        Authorization: req.authorization,
        'Content-Encoding': 'aes128gcm',
        'Content-Type': 'application/octet-stream',
        'Content-Length': req.body.length,
        TTL: req.ttl,
        Urgency: req.urgency,
      },
    });
    const timer = setTimeout(() => post.destroy(new Error('no answer within the delivery timeout')), timeoutMs);
    post.on('response', (res) => {
      clearTimeout(timer);
      resolve(res.statusCode ?? 0);
      res.destroy();
    });
    post.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    post.end(req.body);
  });
}

/** Bounded work: at most `concurrency` jobs run at once and `capacity` wait; past that a job is refused. */
export class PushQueue {
  private readonly waiting: Array<() => Promise<void>> = [];
  private running = 0;
  /** Jobs refused because the queue was full, since the start. */
  dropped = 0;

  constructor(
    private readonly limits: () => { concurrency: number; capacity: number },
  ) {}

  /** Queues a job; false (and counted) when the queue is full. */
  add(job: () => Promise<void>): boolean {
    const { capacity } = this.limits();
    if (this.waiting.length >= capacity) {
      this.dropped++;
      return false;
    }
    this.waiting.push(job);
    this.pump();
    return true;
  }

  /** Forgets the jobs not started yet (the server is stopping). */
  clear(): void {
    this.waiting.length = 0;
  }

  private pump(): void {
    while (this.running < this.limits().concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      this.running++;
      // A job handles its own outcome; a throw is only a slot to give back.
      void job()
        .catch(() => undefined)
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }
}
