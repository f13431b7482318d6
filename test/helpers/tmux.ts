// A real terminal for CLI tests: a private tmux server running one command in a pane.
import { PATIENCE_MS } from './patience.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface TmuxPane {
  /** tmux send-keys arguments, e.g. ['secret', 'Enter']. */
  send(...keys: string[]): Promise<void>;
  /** Sends text literally (no key-name lookup). */
  type(text: string): Promise<void>;
  screen(): Promise<string>;
  /** Polls the screen until it matches; returns it. */
  waitFor(pattern: RegExp, what?: string, limitMs?: number): Promise<string>;
  kill(): Promise<void>;
}

export async function startTmux(command: string, env: NodeJS.ProcessEnv): Promise<TmuxPane> {
  const socket = `rac-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const tmux = (...args: string[]) => exec('tmux', ['-L', socket, ...args], { env });
  // The pane stays after the command ends (remain-on-exit), so its last output can be read.
  await tmux('-f', '/dev/null', 'new-session', '-d', '-x', '160', '-y', '40', 'sh', '-c', `${command}; echo "[exit $?]"; sleep 600`);
  const screen = async () => (await tmux('capture-pane', '-p', '-J')).stdout;
  return {
    send: async (...keys) => void (await tmux('send-keys', ...keys)),
    type: async (text) => void (await tmux('send-keys', '-l', text)),
    screen,
    async waitFor(pattern, what = String(pattern), limitMs = 15_000) {
      const deadline = Date.now() + Math.max(limitMs, PATIENCE_MS);
      for (;;) {
        const text = await screen();
        if (pattern.test(text)) return text;
        if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}; the screen:\n${text}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    kill: async () => void (await tmux('kill-server').catch(() => undefined)),
  };
}
