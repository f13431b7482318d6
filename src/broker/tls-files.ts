// The broker's own certificate (rac serve --tls-cert/--tls-key): read, checked and summarised in one
// place for the start, the SIGHUP reload and `rac serve --check`. A pair that does not load never
// replaces the one in use.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type SecureContextOptions, createSecureContext } from 'node:tls';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** What a person needs to recognise a certificate: who it is for, until when, which one. */
export interface CertificateSummary {
  subject: string;
  validTo: Date;
  /** SHA-256 fingerprint, colon-separated hex, as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprint256: string;
  serialNumber: string;
}

export interface LoadedTls {
  options: Pick<SecureContextOptions, 'cert' | 'key'>;
  certificate: CertificateSummary;
}

/** The files cannot be used; the message names the file and what to do. */
export class TlsFilesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsFilesError';
  }
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new TlsFilesError(`cannot read the ${what} ${file}: ${why}`);
  }
}

/** Reads the pair and proves it usable: a PEM chain, a PEM key, and the key belongs to the certificate. */
export function loadTlsFiles(files: TlsFiles): LoadedTls {
  const cert = readPem(files.certFile, 'certificate');
  const key = readPem(files.keyFile, 'private key');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw new TlsFilesError(`${files.certFile} holds no PEM certificate: pass the certificate (chain) file to --tls-cert`);
  }
  try {
    createPrivateKey(key);
  } catch {
    throw new TlsFilesError(`${files.keyFile} holds no readable private key: pass an unencrypted PEM key to --tls-key`);
  }
  if (!leaf.checkPrivateKey(createPrivateKey(key))) {
    throw new TlsFilesError(`${files.keyFile} is not the private key of the certificate in ${files.certFile}: pass the matching pair`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new TlsFilesError(`${files.certFile} and ${files.keyFile} cannot serve TLS: ${(err as Error).message}`);
  }
  return { options: { cert, key }, certificate: summarise(leaf) };
}

function summarise(leaf: X509Certificate): CertificateSummary {
  return {
    subject: leaf.subject.replace(/\n/g, ', '),
    validTo: new Date(leaf.validTo),
    fingerprint256: leaf.fingerprint256,
    serialNumber: leaf.serialNumber,
  };
}

/** "CN=broker.example, valid until 2027-01-01, SHA-256 AB:CD:…" for the log. */
export function describeCertificate(summary: CertificateSummary): string {
  return `${summary.subject}, valid until ${summary.validTo.toISOString().slice(0, 10)}, SHA-256 ${summary.fingerprint256}`;
}
