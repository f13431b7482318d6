// A `rac` command as a child process for tests: collects stderr, waits until the process says it is
// ready (a port parsed from its banner), and stops it with SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const RAC_BIN = fileURLToPath(new URL('../../bin/rac.js', import.meta.url));

export interface RacProcess {
  port: number;
  process: ChildProcess;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then waits for exit; returns the exit code. */
  stop(): Promise<number | null>;
}

/** Spawns `rac ...args`; `readyPort` returns the listening port once the banner shows it is ready. */
export async function spawnRac(
  args: string[],
  env: NodeJS.ProcessEnv,
  readyPort: (stderr: string) => number | undefined,
): Promise<RacProcess> {
  const child = spawn(process.execPath, [RAC_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const name = `rac ${args[0]}`;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 60 s:\n${stderr}`)), 60_000);
    const onData = () => {
      const port = readyPort(stderr);
      if (port === undefined) return;
      clearTimeout(timer);
      child.stderr!.off('data', onData);
      resolve(port);
    };
    child.stderr!.on('data', onData);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening:\n${stderr}`));
    });
  });
  return {
    port,
    process: child,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
