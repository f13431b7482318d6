// What `rac serve` checks about its SMTP options before the broker (and nodemailer) is loaded.
import { readFileSync } from 'node:fs';

export const DEFAULT_SMTP_TIMEOUT_MS = 15_000;

/** Reads and checks a PEM CA file for --smtp-ca-file; throws a one-line message when it is not usable. */
export function readCaFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!/-----BEGIN CERTIFICATE-----/.test(text)) throw new Error(`${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return text;
}
