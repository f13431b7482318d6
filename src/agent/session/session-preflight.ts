// What `rac agent --code` checks before it connects, so that nothing found missing later turns a
// "yes" from the customer into a failure: a terminal to ask on (unless --yes), the code, a desktop
// to share, and with --allow-shell the SSH host key.
import type { TlsTrust } from '../../shared/tls-trust.js';
import type { DesktopPlatform } from '../platform/desktop-platform.js';
import { type HostKey, loadOrCreateHostKey } from '../shell/host-key.js';
import { type SessionInfo, lookupSession } from './broker-link.js';
import type { RelayAddress } from './screen-stream.js';
import { EXIT, type SessionEnd, lookupEnd } from './session-end.js';

export interface PreflightOptions {
  code: string;
  server: string;
  tls?: TlsTrust;
  yes: boolean;
  allowShell?: boolean;
  configDir?: string;
}

/** All a session needs to start. */
export interface Ready {
  platform: DesktopPlatform;
  relay: RelayAddress;
  /** With --allow-shell only. */
  hostKey?: HostKey;
}

/** What the session starts with, or how the agent ends without connecting. */
export async function preflight(
  options: PreflightOptions,
  stdin: { isTTY?: boolean },
  loadPlatform: () => Promise<DesktopPlatform>,
): Promise<Ready | SessionEnd> {
  if (!options.yes && stdin.isTTY !== true) {
    return {
      exitCode: EXIT.usage,
      message:
        'cannot ask for your permission: stdin is not a terminal. Run this in a terminal, or add --yes to allow the session without asking',
    };
  }
  const first = await lookupSession(options.server, options.code, options.tls);
  if (!first.ok) return lookupEnd(first.failure);
  // Find out now, not after the customer said yes, whether there is a desktop to share.
  let platform: DesktopPlatform;
  try {
    platform = await loadPlatform();
  } catch (err) {
    return { exitCode: EXIT.failure, message: `cannot share the screen: ${(err as Error).message}` };
  }
  if (!options.allowShell) return { platform, relay: relayOf(first.info) };
  try {
    return { platform, relay: relayOf(first.info), hostKey: loadOrCreateHostKey(options.configDir ?? '.') };
  } catch (err) {
    return { exitCode: EXIT.failure, message: `cannot allow a terminal: ${(err as Error).message}` };
  }
}

/** The UDP relay the lookup named: the session's port, on the broker's host unless it named another. */
export const relayOf = (info: SessionInfo): RelayAddress => ({
  port: info.udp_port,
  ...(info.relay_host ? { host: info.relay_host } : {}),
});
