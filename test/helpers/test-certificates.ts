// Certificates for TLS tests, made by the real `openssl` in a temporary directory: a private CA and
// server certificates it signs for 127.0.0.1 / localhost (each with its own serial number).
import { execFileSync } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  dir: string;
  caCert: string;
  caKey: string;
}

export interface ServerCertificate {
  cert: string;
  key: string;
  fingerprint256: string;
  serialNumber: string;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

export function makeTestCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'rac-tls-'));
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.pem');
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      caKey,
      '-out',
      caCert,
      '-days',
      '2',
      '-subj',
      '/CN=rac test CA',
    ],
    dir,
  );
  return { dir, caCert, caKey };
}

/** A server certificate signed by `ca` for 127.0.0.1 and localhost, with a random serial number. */
export function makeServerCertificate(ca: TestCa, name: string, days = 2): ServerCertificate {
  const key = join(ca.dir, `${name}.key`);
  const csr = join(ca.dir, `${name}.csr`);
  const cert = join(ca.dir, `${name}.pem`);
  const ext = join(ca.dir, `${name}.ext`);
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`],
    ca.dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.caCert,
      '-CAkey',
      ca.caKey,
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-days',
      String(days),
      '-extfile',
      ext,
      '-out',
      cert,
    ],
    ca.dir,
  );
  const x509 = new X509Certificate(readFileSync(cert));
  return { cert, key, fingerprint256: x509.fingerprint256, serialNumber: x509.serialNumber };
}

/**
 * Extra TLS options for the WebSockets the test helpers open (the sealed agent's, the viewer's):
 * a TLS test puts its CA here. ws connects with tls.connect itself, so no global agent reaches it.
 */
export const helperSocketTls: { ca?: string[] } = {};
