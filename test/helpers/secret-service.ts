// A headless Secret Service for tests: a private D-Bus session bus and gnome-keyring-daemon with an
// unlocked login keyring (apt: dbus gnome-keyring; dbus-send is in dbus). Processes that get `env` use it; nothing else does.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SecretService {
  /** DBUS_SESSION_BUS_ADDRESS and a private HOME/XDG_RUNTIME_DIR for the keyring's files. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

function ownsSecretsName(env: NodeJS.ProcessEnv): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(
      'dbus-send',
      [
        '--session',
        '--print-reply',
        '--dest=org.freedesktop.DBus',
        '/org/freedesktop/DBus',
        'org.freedesktop.DBus.NameHasOwner',
        'string:org.freedesktop.secrets',
      ],
      { env },
      (err, stdout) => resolve(!err && /boolean true/.test(stdout)),
    );
  });
}

export async function startSecretService(): Promise<SecretService> {
  const dir = mkdtempSync(join(tmpdir(), 'rac-secret-service-'));
  const runtime = join(dir, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  const base = { ...process.env, HOME: dir, XDG_RUNTIME_DIR: runtime, XDG_DATA_HOME: join(dir, 'data') };
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.reverse().map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
  };
  try {
    const bus = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1', `--address=unix:path=${join(dir, 'bus')}`], {
      env: base,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    children.push(bus);
    const address = await new Promise<string>((resolve, reject) => {
      let out = '';
      bus.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!.trim());
      });
      bus.once('error', reject);
      bus.once('exit', (code) => reject(new Error(`dbus-daemon exited with ${code}`)));
    });
    const env = { ...base, DBUS_SESSION_BUS_ADDRESS: address };
    const keyring = spawn('gnome-keyring-daemon', ['--unlock', '--components=secrets', '--foreground'], {
      env,
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    children.push(keyring);
    // --unlock reads the login keyring's password from stdin.
    keyring.stdin!.end('test-keyring-password');
    keyring.stdout!.resume();
    let exited = false;
    keyring.once('exit', () => (exited = true));
    // Ready once it owns org.freedesktop.secrets on the bus.
    for (let attempt = 0; !(await ownsSecretsName(env)); attempt++) {
      if (exited || attempt > 200) throw new Error('gnome-keyring-daemon did not register org.freedesktop.secrets');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { env, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
