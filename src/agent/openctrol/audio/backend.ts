// What the Openctrol audio endpoints need from the OS: output devices with volume (0–100) and mute,
// and which one is the default (the "master"). One implementation per platform.

export interface AudioDevice {
  id: string;
  name: string;
  isDefault: boolean;
  /** 0–100 */
  volume: number;
  muted: boolean;
}

export interface AudioStatus {
  master: { volume: number; muted: boolean };
  devices: AudioDevice[];
}

export interface VolumeChange {
  /** 0–100; absent = unchanged */
  volume?: number;
  /** absent = unchanged */
  muted?: boolean;
}

export interface AudioBackend {
  readonly name: string;
  status(): Promise<AudioStatus>;
  setMaster(change: VolumeChange): Promise<void>;
  /** Throws AudioError 'device_not_found' for an unknown id. */
  setDevice(id: string, change: VolumeChange): Promise<void>;
  /** Throws AudioError 'device_not_found', or 'not_supported' where the OS offers no switch. */
  setDefault(id: string): Promise<void>;
}

export type AudioErrorKind = 'unavailable' | 'device_not_found' | 'not_supported';

export class AudioError extends Error {
  constructor(
    readonly kind: AudioErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'AudioError';
  }
}

/** Master = the default output device. */
export function statusFromDevices(devices: AudioDevice[]): AudioStatus {
  const main = devices.find((d) => d.isDefault) ?? devices[0];
  return { master: { volume: main?.volume ?? 0, muted: main?.muted ?? false }, devices };
}
