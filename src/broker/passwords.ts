// Password hashing with node:crypto scrypt. Stored as `scrypt$N$r$p$salt$hash` (base64): a hash
// keeps verifying with the parameters it was made with, and is re-made with the current ones at
// the next successful login (needsRehash).
import { randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';

/** The current cost: 128 · N · r = 128 MiB of memory per hash. */
export const SCRYPT_PARAMS = { N: 2 ** 17, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

/** The shortest password the broker accepts (RAC_ADMIN_PASSWORD and the users API). */
export const MIN_PASSWORD_LENGTH = 12;

interface StoredHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function derive(password: string, salt: Buffer, { N, r, p }: { N: number; r: number; p: number }): Promise<Buffer> {
  // scrypt needs 128 · N · r bytes (plus 128 · r · p); twice that leaves room for the small parts.
  const maxmem = 2 * 128 * N * r + 128 * r * p;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { N, r, p, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function parse(stored: string): StoredHash | undefined {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return undefined;
  const params = [n, r, p].map(Number);
  if (!params.every((x) => Number.isSafeInteger(x) && x > 0)) return undefined;
  return { N: params[0]!, r: params[1]!, p: params[2]!, salt: Buffer.from(salt, 'base64'), key: Buffer.from(key, 'base64') };
}

const format = (salt: Buffer, key: Buffer, { N, r, p } = SCRYPT_PARAMS): string =>
  ['scrypt', N, r, p, salt.toString('base64'), key.toString('base64')].join('$');

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  return format(salt, await derive(password, salt, SCRYPT_PARAMS));
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const hash = parse(stored);
  if (!hash) return false;
  const key = await derive(password, hash.salt, hash);
  return key.length === hash.key.length && timingSafeEqual(key, hash.key);
}

/** Whether a stored hash was made with other parameters than the current ones. */
export function needsRehash(stored: string): boolean {
  const hash = parse(stored);
  return !hash || hash.N !== SCRYPT_PARAMS.N || hash.r !== SCRYPT_PARAMS.r || hash.p !== SCRYPT_PARAMS.p;
}

/** Verified against when the email is unknown, so a miss costs the same time as a wrong password. */
export const DUMMY_HASH = format(Buffer.alloc(SALT_LENGTH), Buffer.alloc(KEY_LENGTH));

/** A password a person can type: 20 characters from an alphabet without look-alikes. */
export function randomPassword(length = 20): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}
