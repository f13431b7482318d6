// What the customer is told about file transfers on one SSH connection. `rac cp` downloads a file
// over several SFTP channels at once (each opens it and reads a share): the customer gets one
// "started a file transfer session" while any are open, and one "copied" line per file, with the
// bytes of every channel, once the last channel has closed it.

export interface TransferBytes {
  bytesRead: number;
  bytesWritten: number;
}

interface OpenTransfer extends TransferBytes {
  handles: number;
}

export class TransferTally {
  private readonly files = new Map<string, OpenTransfer>();
  private channels = 0;

  /** A new SFTP channel; true when it is the only one open (the one to tell the customer about). */
  channelOpened(): boolean {
    return ++this.channels === 1;
  }

  channelClosed(): void {
    this.channels = Math.max(0, this.channels - 1);
  }

  fileOpened(path: string): void {
    const entry = this.files.get(path) ?? { handles: 0, bytesRead: 0, bytesWritten: 0 };
    entry.handles += 1;
    this.files.set(path, entry);
  }

  /** One handle of `path` closed with its bytes; the totals once no handle of it is left open. */
  fileClosed(path: string, bytes: TransferBytes): TransferBytes | undefined {
    const entry = this.files.get(path);
    if (!entry) return bytes;
    entry.handles -= 1;
    entry.bytesRead += bytes.bytesRead;
    entry.bytesWritten += bytes.bytesWritten;
    if (entry.handles > 0) return undefined;
    this.files.delete(path);
    return { bytesRead: entry.bytesRead, bytesWritten: entry.bytesWritten };
  }
}
