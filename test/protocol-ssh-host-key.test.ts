// SSH host key lines (src/protocol/ssh-host-key.ts): the fingerprint is OpenSSH's own, and only an
// exact ed25519 public key line is accepted.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { isSshHostKeyLine, sshHostKeyFingerprint } from '../src/protocol/index.js';

/** An OpenSSH public key line built from a fresh node:crypto ed25519 key. */
function freshLine(): string {
  const raw = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]).toString('base64')}`;
}

t.test('the fingerprint is what ssh-keygen -lf prints', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rac-hostkey-'));
  for (let i = 0; i < 5; i++) {
    const line = freshLine();
    t.ok(isSshHostKeyLine(line), 'a fresh key line is accepted');
    writeFileSync(join(dir, 'k.pub'), `${line}\n`);
    const printed = execFileSync('ssh-keygen', ['-lf', join(dir, 'k.pub')], { encoding: 'utf8' }).split(' ')[1];
    t.equal(sshHostKeyFingerprint(line), printed);
  }
});

t.test('anything but an exact ed25519 line is refused', async (t) => {
  const line = freshLine();
  for (const bad of [
    '',
    `${line} comment`,
    ` ${line}`,
    line.replace('ssh-ed25519', 'ssh-rsa'),
    line.slice(0, -1),
    `${line}A`,
    line.replace('AAAAI', 'AAAAJ'),
    42,
  ]) {
    t.notOk(isSshHostKeyLine(bad), JSON.stringify(bad).slice(0, 40));
    if (typeof bad === 'string') t.equal(sshHostKeyFingerprint(bad), undefined);
  }
});
