// Self-signed certificates for TLS tests, made with the openssl command line.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
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
