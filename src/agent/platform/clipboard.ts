// The desktop's clipboard as text, through the system's own tools: on X11 the CLIPBOARD selection
// with xclip (xsel when xclip is missing), on Windows PowerShell's Get-Clipboard/Set-Clipboard, on
// macOS pbpaste/pbcopy. A tool is run per read or write: reads are polled at most twice a second
// while a session is live, and a spawn costs a few milliseconds. Only the X11 tools are tested.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface DesktopClipboard {
  /** The tool in use, for messages ("xclip"). */
  readonly tool: string;
  /** The clipboard's text; undefined when it is empty, holds no text, or the tool failed. */
  read(): Promise<string | undefined>;
  /** Resolves once `text` is on the clipboard. */
  write(text: string): Promise<ClipboardWrite>;
}

export interface ClipboardWrite {
  /**
   * Settles when another program takes the clipboard; absent when the tool cannot tell. Until then
   * the clipboard still holds the text written, and is better not read (see xclipHolding).
   */
  released?: Promise<void>;
}

interface ClipboardCommands {
  tool: string;
  read: [string, string[]];
  write: [string, string[]];
  /** Writes and stays until the clipboard is taken (xclip), instead of running `write`. */
  hold?: (text: string, env: NodeJS.ProcessEnv) => Promise<ClipboardWrite>;
}

/** Read beyond the 1 MiB that is sent, so an over-size clipboard is seen as such (and its size told). */
const READ_MAX_BYTES = 64 * 1024 * 1024;
const TOOL_TIMEOUT_MS = 5000;

const X11_TOOLS: ClipboardCommands[] = [
  {
    tool: 'xclip',
    read: ['xclip', ['-selection', 'clipboard', '-o', '-t', 'UTF8_STRING']],
    write: ['xclip', ['-selection', 'clipboard', '-i']],
    hold: xclipHolding,
  },
  { tool: 'xsel', read: ['xsel', ['--clipboard', '--output']], write: ['xsel', ['--clipboard', '--input']] },
];
const WINDOWS: ClipboardCommands = {
  tool: 'PowerShell',
  read: ['powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', 'Get-Clipboard -Raw']],
  write: ['powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', '[Console]::In.ReadToEnd() | Set-Clipboard']],
};
const MACOS: ClipboardCommands = { tool: 'pbcopy', read: ['pbpaste', []], write: ['pbcopy', []] };

/** The clipboard of this desktop, or undefined (with the reason) when no tool for it is installed. */
export function loadClipboard(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): { clipboard: DesktopClipboard } | { clipboard: undefined; reason: string } {
  if (platform === 'win32') return { clipboard: toolClipboard(WINDOWS, env) };
  if (platform === 'darwin') return { clipboard: toolClipboard(MACOS, env) };
  const found = X11_TOOLS.find((candidate) => onPath(candidate.tool, env));
  if (!found) return { clipboard: undefined, reason: 'neither xclip nor xsel is installed (install xclip to share the clipboard)' };
  return { clipboard: toolClipboard(found, env) };
}

function onPath(command: string, env: NodeJS.ProcessEnv): boolean {
  return (env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, command)));
}

function toolClipboard(commands: ClipboardCommands, env: NodeJS.ProcessEnv): DesktopClipboard {
  return {
    tool: commands.tool,
    read: () => readWith(commands.read, env),
    write: (text) => (commands.hold ? commands.hold(text, env) : writeWith(commands.write, env, text).then(() => ({}))),
  };
}

function readWith([command, args]: [string, string[]], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(command, args, { env, encoding: 'utf8', maxBuffer: READ_MAX_BYTES, timeout: TOOL_TIMEOUT_MS }, (err, stdout) => {
      // An empty clipboard, or one holding only an image, makes xclip exit 1: no text.
      resolve(err || stdout === '' ? undefined : stdout);
    });
  });
}

/**
 * xclip and xsel fork a child that keeps serving the selection after the command returns: its
 * output must not be a pipe we wait on, so only stdin is connected, and the command's exit is the end.
 */
function writeWith([command, args]: [string, string[]], env: NodeJS.ProcessEnv, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['pipe', 'ignore', 'ignore'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), TOOL_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${command} exited with ${signal ?? code} writing the clipboard`));
    });
    child.stdin!.on('error', () => undefined); // an early exit is reported by 'exit'
    child.stdin!.end(text, 'utf8');
  });
}

/** What `xclip -verbose` prints once it owns the selection (after it read all of stdin). */
const XCLIP_READY = 'Waiting for selection requests';

/**
 * xclip in the foreground (-verbose does not fork): ready when it says it owns the selection, and
 * its exit is the moment another program took the clipboard. xclip serves one large (INCR) read at
 * a time: a second reader of 1 MiB waits until it gives up, so the agent must not poll the text it
 * wrote while the customer's application pastes it. xclip runs in its own process group (Ctrl+C on
 * the agent does not take the pasted text away) with SIGPIPE ignored, so it keeps serving after
 * we stop reading its messages, and after the agent has ended.
 */
function xclipHolding(text: string, env: NodeJS.ProcessEnv): Promise<ClipboardWrite> {
  return new Promise((resolve, reject) => {
    const args = ['-c', 'trap "" PIPE; exec xclip -selection clipboard -i -verbose'];
    const child = spawn('/bin/sh', args, { env, stdio: ['pipe', 'ignore', 'pipe'], detached: true });
    const released = new Promise<void>((done) => child.once('exit', () => done()));
    const timer = setTimeout(() => child.kill('SIGKILL'), TOOL_TIMEOUT_MS);
    let said = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      said += chunk;
      if (!said.includes(XCLIP_READY)) return;
      clearTimeout(timer);
      child.stderr!.destroy();
      child.unref();
      resolve({ released });
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`xclip exited with ${signal ?? code} writing the clipboard${said ? `: ${said.trim().split('\n').pop()}` : ''}`));
    });
    child.stdin!.on('error', () => undefined); // an early exit is reported by 'exit'
    child.stdin!.end(text, 'utf8');
  });
}
