// Self-signed certificates for TLS tests, made with the openssl command line.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  cert: string;
  key: string;
}

/** `altNames`, when given, is an openssl subjectAltName list such as "IP:127.0.0.1,DNS:localhost". */
export function makeSelfSignedCert(commonName = 'irc.test', dir = mkdtempSync(join(tmpdir(), 'ircd-cert-')), altNames?: string): CertFiles {
  const cert = join(dir, `${commonName}.crt`);
  const key = join(dir, `${commonName}.key`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', `/CN=${commonName}`, ...(altNames ? ['-addext', `subjectAltName=${altNames}`] : []), '-keyout', key, '-out', cert],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

export interface CaSignedFiles extends CertFiles {
  /** The test CA's certificate, to trust it (sts.ca_file, NODE_EXTRA_CA_CERTS). */
  ca: string;
}

/** A test CA and a server certificate it signed for `hostname` (subjectAltName DNS). */
export function makeCaSignedCert(hostname = 'irc.test', dir = mkdtempSync(join(tmpdir(), 'ircd-ca-'))): CaSignedFiles {
  const f = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  run(['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=ircd test CA', '-keyout', f('ca.key'), '-out', f('ca.crt'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  run(['req', ...ec, '-subj', `/CN=${hostname}`, '-keyout', f('server.key'), '-out', f('server.csr')]);
  writeFileSync(f('server.ext'), `subjectAltName=DNS:${hostname}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  run(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2',
    '-extfile', f('server.ext'), '-out', f('server.crt')]);
  return { ca: f('ca.crt'), cert: f('server.crt'), key: f('server.key') };
}
