// The real desktop for a session: the shared platform assembly (platform/desktop-platform.ts),
// checked before anything else happens: on Linux xrandr answering first also proves the display
// exists (robotjs crashes on a missing one). The capture backend is chosen then too, and named.
import { loadClipboard } from '../platform/clipboard.js';
import { type DesktopPlatform, loadDesktopPlatform } from '../platform/desktop-platform.js';

export async function loadSessionPlatform(env: NodeJS.ProcessEnv, warn: (message: string) => void): Promise<DesktopPlatform> {
  const platform = loadDesktopPlatform(env, warn);
  await platform.monitors();
  warn(`screen capture: ${await platform.selectCapture()}`);
  const clipboard = loadClipboard(env);
  if (!clipboard.clipboard) warn(`the clipboard is not shared: ${clipboard.reason}`);
  return { ...platform, clipboard: clipboard.clipboard };
}
