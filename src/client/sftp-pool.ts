// Several SFTP channels on one SSH connection. ssh2 gives every channel a fixed 2 MiB window, which
// caps what one channel can have on the way; a download spread over N channels has N windows on the
// way (and the agent answers each channel's requests on its own), without patching ssh2.
import type { Client, SFTPWrapper } from 'ssh2';
import { openSftp } from './ssh-session.js';

/**
 * Channels a download reads over: their windows (2 × 2 MiB) hold the 4 MiB of reads a copy keeps on
 * the way (file-copy.ts). Side by side in bench/shell.bench.js, 2 did as well as 3, and 1 worse.
 */
export const DOWNLOAD_CHANNELS = 2;

/** One channel of the pool closed or failed: the copy cannot go on; the rest were closed too. */
export class SftpChannelLostError extends Error {
  constructor(reason: string) {
    super(`an SFTP channel to the customer's computer closed during the copy (${reason}): run rac cp again`);
    this.name = 'SftpChannelLostError';
  }
}

export class SftpPool {
  private lost: SftpChannelLostError | undefined;
  private closing = false;

  private constructor(readonly channels: readonly SFTPWrapper[]) {
    for (const channel of channels) {
      channel.on('error', (err: Error) => this.lose(err.message));
      // 'end' comes as ssh2 fails the channel's open requests, before their callers see the failure.
      channel.once('end', () => this.lose('the channel was closed'));
      channel.once('close', () => this.lose('the channel was closed'));
    }
  }

  /** Opens `count` SFTP channels on the client; if one fails, closes the others and rejects. */
  static async open(client: Client, count: number): Promise<SftpPool> {
    const settled = await Promise.allSettled(Array.from({ length: count }, () => openSftp(client)));
    const opened = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      for (const channel of opened) channel.end();
      throw failed.reason;
    }
    return new SftpPool(opened);
  }

  /** The channel for everything that is not spread: stat, list, writes. */
  get main(): SFTPWrapper {
    return this.channels[0]!;
  }

  /** Why the pool cannot be used any more, if it cannot. */
  get failure(): SftpChannelLostError | undefined {
    return this.lost;
  }

  /** Closes every channel (the agent closes the files still open on them). */
  close(): void {
    this.closing = true;
    for (const channel of this.channels) channel.end();
  }

  /**
   * A channel that closes or fails while the pool is in use: its requests fail, so the others are
   * closed too rather than left waiting; later requests fail at once (ssh2 would drop them unsent).
   */
  private lose(reason: string): void {
    if (this.closing || this.lost) return;
    this.lost = new SftpChannelLostError(reason);
    this.close();
  }
}
