// Which certificates rac's clients trust when they talk to a broker over HTTPS and WSS: the
// system's CAs (Node's default, always verified), plus the PEM file of --ca-file or RAC_CA_FILE
// for a broker signed by a private CA. The REST client, the viewer's and the agent's WebSockets
// all take their TLS options and their explanation of a failed verification from here.
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

export interface TlsTrust {
  /** The PEM file the extra CAs came from, for messages. */
  caFile?: string;
  /** Its certificates; absent: the system's CAs only. */
  ca?: string;
}

/** The CA file cannot be used; the message names it and what to do. */
export class CaFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaFileError';
  }
}

/** Reads the CA file, when there is one (the flag, else RAC_CA_FILE). */
export function loadTlsTrust(caFile: string | undefined): TlsTrust {
  if (!caFile) return {};
  let pem: string;
  try {
    pem = readFileSync(caFile, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CaFileError(`cannot read the CA file ${caFile}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new CaFileError(`${caFile} holds no PEM certificate: pass the CA certificate that signed the broker's certificate`);
  }
  return { caFile, ca: pem };
}

/** For tls.connect, https.request, ws and undici's `connect`: Node's CAs plus the extra ones. */
export function tlsConnectOptions(trust: TlsTrust): { ca?: string[] } {
  // `ca` replaces Node's list: keep the public CAs so a broker with a public certificate still works.
  return trust.ca ? { ca: [...rootCertificates, trust.ca] } : {};
}

/** OpenSSL's verification failures, as Node names them on the error (or its cause). */
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
const WRONG_NAME = 'ERR_TLS_CERT_ALTNAME_INVALID';

/**
 * "rac could not verify the certificate of HOST: REASON; WHAT TO DO", or undefined when `err` is
 * not a certificate failure. `url` is the broker's (its host name is what the certificate must name).
 */
export function describeCertificateFailure(err: unknown, url: string, trust: TlsTrust): string | undefined {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const failure = e.code && isCertificateCode(e.code) ? e : e.cause?.code && isCertificateCode(e.cause.code) ? e.cause : undefined;
  if (!failure) return undefined;
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  const reason = (failure.message ?? failure.code ?? 'unknown reason').replace(/\.$/, '');
  return `rac could not verify the certificate of ${host}: ${reason}; ${remedy(failure.code!, trust)}`;
}

const isCertificateCode = (code: string) => UNTRUSTED.has(code) || EXPIRED.has(code) || code === WRONG_NAME;

function remedy(code: string, trust: TlsTrust): string {
  if (EXPIRED.has(code)) return "the broker's certificate is out of date: its administrator must renew it (see man rac-serve)";
  if (code === WRONG_NAME) return 'use the host name the certificate is for in --server (see man rac-login)';
  if (trust.caFile) return `${trust.caFile} does not hold the CA that signed it: pass the right file with --ca-file, see man rac-login`;
  return 'pass --ca-file with your CA, see man rac-login';
}
