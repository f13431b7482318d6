// What the customer reads about the IT member's shell work: one line per terminal, command and file
// transfer. Names, commands and paths come from the other side, so every piece is made terminal-safe
// and shortened before it reaches the customer's screen.
import { basename, dirname } from 'node:path';
import { terminalSafe } from '../../protocol/index.js';

export interface ShellUser {
  email: string;
  fullName: string;
}

/** "Jane Doe", or the email when there is no name; terminal-safe. */
export const whoIs = (user: ShellUser): string => terminalSafe(user.fullName || user.email, 80);

/** 2.1 MB, 14 kB, 512 bytes (decimal units, like most file managers). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} byte${bytes === 1 ? '' : 's'}`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

const safePath = (path: string) => terminalSafe(path, 200);

export const ActivityLine = {
  connected: (user: ShellUser, email: string) => `${whoIs(user)} <${terminalSafe(email, 120)}> opened an SSH connection.`,
  shell: (user: ShellUser, pty: boolean) => `${whoIs(user)} opened a terminal${pty ? '' : ' (without a PTY: node-pty is not available)'}.`,
  exec: (user: ShellUser, command: string) => `${whoIs(user)} ran: ${terminalSafe(command, 200)}`,
  exited: (user: ShellUser, what: string, status: string) => `${whoIs(user)}'s ${what} ended (${status}).`,
  sftp: (user: ShellUser) => `${whoIs(user)} started a file transfer session.`,
  copiedFrom: (user: ShellUser, path: string, bytes: number) =>
    `${whoIs(user)} copied ${safePath(basename(path))} (${formatBytes(bytes)}) from ${safePath(dirname(path))}`,
  copiedTo: (user: ShellUser, path: string, bytes: number) =>
    `${whoIs(user)} copied ${safePath(basename(path))} (${formatBytes(bytes)}) to ${safePath(dirname(path))}`,
  /** The file was still open when its connection closed: the copy did not finish. */
  stoppedFrom: (user: ShellUser, path: string, bytes: number) =>
    `${whoIs(user)} stopped copying ${safePath(basename(path))} from ${safePath(dirname(path))} after ${formatBytes(bytes)}: the connection closed first.`,
  stoppedTo: (user: ShellUser, path: string, bytes: number) =>
    `${whoIs(user)} stopped copying ${safePath(basename(path))} to ${safePath(dirname(path))} after ${formatBytes(bytes)}: the connection closed first.`,
  changed: (user: ShellUser, what: string, path: string) => `${whoIs(user)} ${what} ${safePath(path)}`,
  closed: (user: ShellUser) => `${whoIs(user)} closed the SSH connection.`,
} as const;
