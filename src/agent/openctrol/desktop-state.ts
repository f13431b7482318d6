// Best-effort "is the desktop locked?" on Linux: the login session's LockedHint from logind (set by
// GNOME, KDE, light-locker and others). Where no login session is known the answer is "don't know".
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { DesktopState } from './desktop-engine.js';

const execFileAsync = promisify(execFile);

export function linuxDesktopState(env: NodeJS.ProcessEnv = process.env): () => Promise<DesktopState | undefined> {
  let cached: { at: number; state: DesktopState | undefined } | undefined;
  return async () => {
    if (!env.XDG_SESSION_ID) return undefined;
    if (cached && Date.now() - cached.at < 5000) return cached.state;
    let state: DesktopState | undefined;
    try {
      const { stdout } = await execFileAsync('loginctl', ['show-session', env.XDG_SESSION_ID, '-p', 'LockedHint', '--value'], {
        timeout: 2000,
      });
      state = stdout.trim() === 'yes' ? 'locked' : 'desktop';
    } catch {
      state = undefined;
    }
    cached = { at: Date.now(), state };
    return state;
  };
}
