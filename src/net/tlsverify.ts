// Does a TLS certificate verify for a host name, as a client would check it? Checked before the
// server advertises IRCv3 STS, which tells clients to refuse anything but a verified TLS
// connection: the certificate is served in a TLS handshake over loopback to a client that
// trusts what clients trust (Node's bundled roots, the system bundle, NODE_EXTRA_CA_CERTS, and
// extra CA files), and whose node:tls checkServerIdentity checks the name.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { checkServerIdentity, connect, createServer, rootCertificates, type SecureContextOptions } from 'node:tls';
import type { Config, ListenConfig } from '../config/schema.js';
import { readTls } from './listener.js';

/** Where distributions keep the system's CA bundle (Debian/Ubuntu/Alpine, Fedora/RHEL, BSDs/macOS). */
const SYSTEM_CA_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];

/** A handshake with ourselves takes milliseconds; this only bounds a wedged one. */
const VERIFY_TIMEOUT_MS = 5000;

function readCa(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`sts: cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The CA certificates a client on this machine trusts, plus `extraCaFiles`. */
function trustedCas(extraCaFiles: readonly string[]): string[] {
  const cas = [...rootCertificates];
  for (const path of SYSTEM_CA_BUNDLES) {
    try {
      cas.push(readFileSync(path, 'utf8'));
      break;
    } catch {
      // Not where this system keeps it.
    }
  }
  // Node adds NODE_EXTRA_CA_CERTS to its default store, which an explicit `ca` list replaces.
  if (process.env.NODE_EXTRA_CA_CERTS) cas.push(readCa(process.env.NODE_EXTRA_CA_CERTS, 'NODE_EXTRA_CA_CERTS'));
  for (const file of extraCaFiles) cas.push(readCa(file, 'the CA file'));
  return cas;
}

/** Resolves when the certificate and key `served` verify for `hostname` against `ca`; rejects with the reason otherwise. */
async function verifyCertificate(served: SecureContextOptions, hostname: string, ca: string[]): Promise<void> {
  const server = createServer(served);
  server.on('tlsClientError', () => {}); // the client's refusal is reported on its side
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const socket = connect({
        host: '127.0.0.1',
        port: (server.address() as AddressInfo).port,
        servername: isIP(hostname) ? undefined : hostname,
        ca,
        checkServerIdentity: (_host, cert) => checkServerIdentity(hostname, cert),
      });
      socket.setTimeout(VERIFY_TIMEOUT_MS, () => socket.destroy(new Error('the TLS handshake timed out')));
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    });
  } finally {
    server.close();
  }
}

/** The [[listen]] block STS sends clients to: the first TLS one on `sts.port`, or the first TLS one. */
export function stsListener(cfg: Config): ListenConfig | undefined {
  return cfg.listen.find((l) => l.tls && (cfg.sts.port === undefined || l.port === cfg.sts.port));
}

/**
 * Refuses an STS policy clients could not keep: with [sts] enabled, the certificate of the
 * listener it names must verify for server.name. Throws an Error saying what to do otherwise.
 */
export async function checkStsPolicy(cfg: Config): Promise<void> {
  if (!cfg.sts.enabled) return;
  const l = stsListener(cfg);
  if (!l?.tls) return; // the schema refuses [sts] enabled without a TLS listener
  // Unreadable files are named as such, not as a certificate that does not verify.
  const served = readTls(l.tls);
  const ca = trustedCas(cfg.sts.ca_file ? [cfg.sts.ca_file] : []);
  try {
    await verifyCertificate(served, cfg.server.name, ca);
  } catch (err) {
    throw new Error(
      `sts.enabled: the certificate ${l.tls.cert} (TLS listener on port ${l.port}) does not verify for ${cfg.server.name}: ` +
        `${(err as Error).message}. STS would make clients refuse to connect for sts.duration seconds; ` +
        'use a certificate from a CA that clients trust, or set [sts] enabled = false',
    );
  }
}
