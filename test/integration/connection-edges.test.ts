// The edges of a connection: a client that half-closes (FIN) after a burst still has its lines
// handled, and a client speaking the wrong transport (plaintext on a TLS port, TLS on a plaintext
// port) is told so in the log, and in plaintext when it speaks plaintext.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { waitUntil } from '../support/harness.js';
import { useSession } from '../support/session.js';
import { makeSelfSignedCert } from '../support/tls.js';

const s = useSession();

describe('half-close', () => {
  it('handles a burst waiting behind flood control, QUIT included, after the client sends FIN', async () => {
    await s.start({
      class: [{ name: 'default', max_per_ip: 100, recvq: 65536, flood: { burst: 5, rate: 1 }, connect_rate: { count: 1000, seconds: 1 } }],
    });
    const peer = await s.connect('peer');
    const burster = await s.connect('burster');
    peer.send('JOIN #edge');
    await peer.waitFor('366');
    burster.send('JOIN #edge');
    await peer.waitFor((m) => m.command === 'JOIN' && m.source?.startsWith('burster!') === true);
    const from = peer.mark;
    // 30 messages and a QUIT: far beyond the burst of 5 at 1 a second, so they wait in the recvq.
    burster.sendRaw(Array.from({ length: 30 }, (_, i) => `PRIVMSG #edge :line ${i}\r\n`).join('') + 'QUIT :bye\r\n');
    burster.socket.end();
    const quit = await peer.waitFor((m) => m.command === 'QUIT', { from, timeout: 5000 });
    expect(quit.params[0]).toBe('Quit: bye');
    const said = peer.lines.slice(from).filter((l) => l.includes('PRIVMSG #edge'));
    expect(said).toHaveLength(30);
    expect(said.at(-1)).toContain(':line 29');
  });

  it('a FIN with nothing waiting ends the connection as before', async () => {
    await s.start();
    const peer = await s.connect('peer');
    const leaver = await s.connect('leaver');
    peer.send('JOIN #edge');
    await peer.waitFor('366');
    leaver.send('JOIN #edge');
    await peer.waitFor((m) => m.command === 'JOIN' && m.source?.startsWith('leaver!') === true);
    await leaver.collectUntilPong();
    leaver.socket.end();
    const quit = await peer.waitFor('QUIT');
    expect(quit.params[0]).toBe('Connection closed');
  });
});

async function logged(file: string, text: string): Promise<string[]> {
  await waitUntil(() => existsSync(file) && readFileSync(file, 'utf8').includes(text), 5000);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes(text));
}

describe('transport mismatch', () => {
  it('answers plaintext on a TLS port with a plaintext ERROR and logs it once at info', async () => {
    const { cert, key } = makeSelfSignedCert();
    const logFile = join(mkdtempSync(join(tmpdir(), 'ircd-log-')), 'ircd.log');
    const srv = await s.start({ listen: [{ address: '127.0.0.1', port: 0, tls: { cert, key } }], log: { level: 'info', destination: logFile } });
    const sock = connect({ host: '127.0.0.1', port: srv.port });
    let got = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => (got += d));
    sock.on('error', () => {});
    await new Promise((r) => sock.once('connect', r));
    sock.write('CAP LS 302\r\nNICK plain\r\nUSER plain 0 * :Plain\r\n');
    await new Promise((r) => sock.once('close', r));
    expect(got).toBe('ERROR :Closing Link: 127.0.0.1 (This port speaks TLS only: turn TLS on in your client, or use a plaintext port)\r\n');
    const lines = await logged(logFile, 'plaintext client on a TLS port');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, ip: '127.0.0.1' });
  });

  it('closes a TLS handshake on a plaintext port and logs it once at info with the address', async () => {
    const logFile = join(mkdtempSync(join(tmpdir(), 'ircd-log-')), 'ircd.log');
    const srv = await s.start({ log: { level: 'info', destination: logFile } });
    const tls = tlsConnect({ host: '127.0.0.1', port: srv.port, rejectUnauthorized: false });
    const failed = new Promise<Error>((r) => tls.once('error', r));
    expect((await failed).message).toBeTruthy();
    const lines = await logged(logFile, 'TLS handshake on a plaintext port');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, ip: '127.0.0.1', msg: 'connection closed' });
    // The listener keeps serving plaintext clients.
    const ok = await s.connect('afterwards');
    expect(ok.closed).toBe(false);
  });
});
