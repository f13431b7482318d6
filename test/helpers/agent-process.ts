// Starts a real `rac agent` (Openctrol API only) for a test: loopback, a free port, its own config
// dir, pointed at the test's X display and PulseAudio daemon.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RAC_BIN } from './broker-process.js';

export const TEST_API_KEY = 'test-key-0123456789abcdef0123456789';

export interface AgentProcess {
  url: string;
  port: number;
  key: string;
  configDir: string;
  process: ChildProcess;
  stderr(): string;
  stop(): Promise<number | null>;
}

export async function startAgentProcess(options: { env?: NodeJS.ProcessEnv; args?: string[]; key?: string | null; configDir?: string } = {}): Promise<AgentProcess> {
  const configDir = options.configDir ?? mkdtempSync(join(tmpdir(), 'rac-agent-config-'));
  const key = options.key === undefined ? TEST_API_KEY : options.key;
  const args = [RAC_BIN, 'agent', '--openctrol-host', '127.0.0.1', '--openctrol-port', '0', '--config-dir', configDir, '--power-dry-run'];
  if (key !== null) args.push('--api-key', key);
  const child = spawn(process.execPath, [...args, ...(options.args ?? [])], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rac agent did not start in 60 s:\n${stderr}`)), 60_000);
    const onData = () => {
      const match = /listening on https?:\/\/[^:]+:(\d+)/.exec(stderr);
      // The banner ends with the power line: wait for all of it.
      if (match && /\n {2}power: .*\n/.test(stderr)) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        resolve(Number(match[1]));
      }
    };
    child.stderr!.on('data', onData);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`rac agent exited with ${code} before listening:\n${stderr}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    key: key ?? '',
    configDir,
    process: child,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
