// Windows: node-audio-volume-mixer (an optional Windows-only addon, not a dependency of rac). It
// sees only the default output device and cannot switch it, so there is one device and `default`
// answers 501. Loaded with a guarded dynamic import, only on win32; absent → no backend (503).
import { AudioError, type AudioBackend, type AudioStatus, type VolumeChange } from './backend.js';

export interface VolumeMixer {
  getMasterVolumeLevelScalar(): number;
  setMasterVolumeLevelScalar(level: number): void;
  isMasterMuted(): boolean;
  muteMaster(muted: boolean): void;
}

const DEVICE_ID = 'default';

export async function loadWindowsBackend(): Promise<AudioBackend | null> {
  if (process.platform !== 'win32') return null;
  try {
    const name = 'node-audio-volume-mixer'; // a variable, so TypeScript does not look for its types
    const mod = (await import(name)) as { NodeAudioVolumeMixer?: VolumeMixer; default?: { NodeAudioVolumeMixer?: VolumeMixer } };
    const mixer = mod.NodeAudioVolumeMixer ?? mod.default?.NodeAudioVolumeMixer;
    return mixer ? new WindowsMixerBackend(mixer) : null;
  } catch {
    return null;
  }
}

/** Exported for tests, which drive it with a stand-in mixer: the real addon only loads on Windows. */
export class WindowsMixerBackend implements AudioBackend {
  readonly name = 'node-audio-volume-mixer';

  constructor(private readonly mixer: VolumeMixer) {}

  async status(): Promise<AudioStatus> {
    const volume = Math.round(this.mixer.getMasterVolumeLevelScalar() * 100);
    const muted = this.mixer.isMasterMuted();
    return { master: { volume, muted }, devices: [{ id: DEVICE_ID, name: 'Default output', isDefault: true, volume, muted }] };
  }

  async setMaster(change: VolumeChange): Promise<void> {
    if (change.volume !== undefined) this.mixer.setMasterVolumeLevelScalar(change.volume / 100);
    if (change.muted !== undefined) this.mixer.muteMaster(change.muted);
  }

  async setDevice(id: string, change: VolumeChange): Promise<void> {
    if (id !== DEVICE_ID) throw new AudioError('device_not_found', `Audio device not found: ${id}`);
    await this.setMaster(change);
  }

  async setDefault(id: string): Promise<void> {
    if (id !== DEVICE_ID) throw new AudioError('device_not_found', `Audio device not found: ${id}`);
    throw new AudioError('not_supported', 'Switching the default output device is not supported on Windows yet');
  }
}
