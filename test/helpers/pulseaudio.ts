// A private PulseAudio daemon for a test (docs/testing.md), with two null sinks: "speakers" (Speakers,
// the default) and "headset" (Headset). Clients reach it through PULSE_SERVER.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitForAsync } from './xvfb.js';

const execFileAsync = promisify(execFile);

export interface PulseAudio {
  env: NodeJS.ProcessEnv;
  pactl(args: string[]): Promise<string>;
  sinks(): Promise<{ name: string; description: string; mute: boolean; volumePercent: number }[]>;
  defaultSink(): Promise<string>;
  stop(): Promise<void>;
}

export async function startPulseAudio(): Promise<PulseAudio> {
  const runtime = mkdtempSync(join(tmpdir(), 'rac-pulse-'));
  chmodSync(runtime, 0o700);
  const childEnv: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: runtime, HOME: runtime, DBUS_SESSION_BUS_ADDRESS: 'disabled:' };
  delete childEnv.DISPLAY;
  delete childEnv.PULSE_SERVER;
  const child: ChildProcess = spawn(
    'pulseaudio',
    [
      '--daemonize=no',
      '--system=false',
      '-n',
      '--exit-idle-time=-1',
      '--disallow-exit',
      '--use-pid-file=no',
      '--load=module-native-protocol-unix auth-anonymous=1',
      '--load=module-null-sink sink_name=speakers sink_properties=device.description=Speakers',
      '--load=module-null-sink sink_name=headset sink_properties=device.description=Headset',
    ],
    { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const env: NodeJS.ProcessEnv = { ...process.env, PULSE_SERVER: `unix:${runtime}/pulse/native` };
  const pactl = async (args: string[]) => (await execFileAsync('pactl', args, { env, timeout: 10_000 })).stdout;
  const up = await waitForAsync(
    () =>
      pactl(['get-default-sink']).then(
        () => true,
        () => false,
      ),
    15_000,
  );
  if (!up) {
    child.kill('SIGKILL');
    throw new Error(`pulseaudio did not start: ${stderr}`);
  }
  await pactl(['set-default-sink', 'speakers']);
  return {
    env,
    pactl,
    async sinks() {
      const list = JSON.parse(await pactl(['-f', 'json', 'list', 'sinks'])) as {
        name: string;
        description: string;
        mute: boolean;
        volume: Record<string, { value: number }>;
      }[];
      return list.map((s) => ({
        name: s.name,
        description: s.description,
        mute: s.mute,
        volumePercent: Math.round((Math.max(...Object.values(s.volume).map((c) => c.value)) / 65536) * 100),
      }));
    },
    async defaultSink() {
      return (await pactl(['get-default-sink'])).trim();
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
