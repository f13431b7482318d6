// PulseAudio and PipeWire (through pipewire-pulse) with `pactl`: sinks are the output devices,
// their names the ids; `pactl -f json` (PulseAudio 16+) for reading, plain commands for changes.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { AudioError, type AudioBackend, type AudioDevice, type AudioStatus, type VolumeChange, statusFromDevices } from './backend.js';

const execFileAsync = promisify(execFile);
const FULL_VOLUME = 65536; // PA_VOLUME_NORM

interface PactlSink {
  name: string;
  description?: string;
  mute: boolean;
  volume: Record<string, { value: number }>;
}

export class PulseAudioBackend implements AudioBackend {
  readonly name = 'pulseaudio';

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  async status(): Promise<AudioStatus> {
    return statusFromDevices(await this.devices());
  }

  async setMaster(change: VolumeChange): Promise<void> {
    await this.apply('@DEFAULT_SINK@', change);
  }

  async setDevice(id: string, change: VolumeChange): Promise<void> {
    await this.requireDevice(id);
    await this.apply(id, change);
  }

  async setDefault(id: string): Promise<void> {
    await this.requireDevice(id);
    await this.pactl(['set-default-sink', id]);
  }

  async devices(): Promise<AudioDevice[]> {
    const [sinks, defaultSink] = await Promise.all([this.pactl(['-f', 'json', 'list', 'sinks']), this.pactl(['get-default-sink'])]);
    let parsed: PactlSink[];
    try {
      parsed = JSON.parse(sinks) as PactlSink[];
    } catch {
      throw new AudioError('unavailable', 'pactl did not answer JSON: PulseAudio 16 or newer (or pipewire-pulse) is needed');
    }
    const defaultName = defaultSink.trim();
    return parsed.map((sink) => ({
      id: sink.name,
      name: sink.description || sink.name,
      isDefault: sink.name === defaultName,
      volume: Math.round((Math.max(0, ...Object.values(sink.volume ?? {}).map((c) => c.value)) / FULL_VOLUME) * 100),
      muted: Boolean(sink.mute),
    }));
  }

  private async requireDevice(id: string): Promise<void> {
    if (!(await this.devices()).some((d) => d.id === id)) throw new AudioError('device_not_found', `Audio device not found: ${id}`);
  }

  private async apply(sink: string, change: VolumeChange): Promise<void> {
    if (change.volume !== undefined) await this.pactl(['set-sink-volume', sink, `${Math.round(change.volume)}%`]);
    if (change.muted !== undefined) await this.pactl(['set-sink-mute', sink, change.muted ? '1' : '0']);
  }

  private async pactl(args: string[]): Promise<string> {
    try {
      const { stdout } = await execFileAsync('pactl', args, { env: this.env, timeout: 5000 });
      return stdout;
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') throw new AudioError('unavailable', 'pactl is not installed (apt install pulseaudio-utils)');
      throw new AudioError(
        'unavailable',
        `pactl ${args[0] === '-f' ? args[2] : args[0]} failed: ${(e.stderr || e.message).trim().split('\n')[0]}`,
      );
    }
  }
}
