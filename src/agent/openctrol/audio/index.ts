// Picks the audio backend for this OS: pactl on Linux, node-audio-volume-mixer on Windows, none
// elsewhere (the API then answers 503).
import type { AudioBackend } from './backend.js';
import { PulseAudioBackend } from './pulse.js';
import { loadWindowsBackend } from './windows.js';

export async function loadAudioBackend(env: NodeJS.ProcessEnv = process.env): Promise<AudioBackend | null> {
  if (process.platform === 'linux') return new PulseAudioBackend(env);
  if (process.platform === 'win32') return loadWindowsBackend();
  return null;
}

export * from './backend.js';
