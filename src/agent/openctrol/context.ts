// What the Openctrol routes and WebSockets work with: one object built by `startOpenctrolServer`.
import type { AudioBackend } from './audio/backend.js';
import type { DesktopEngine } from './desktop-engine.js';
import type { PowerManager } from './power.js';
import type { WolTarget } from './wake-on-lan.js';
import type { ApiKeyAuth } from './auth.js';
import type { DesktopLeases } from './desktop-leases.js';

export interface OpenctrolContext {
  agentId: string;
  version: string;
  startedAt: number;
  auth: ApiKeyAuth;
  /** null where this machine has no screen to capture (no X display). */
  engine: DesktopEngine | null;
  /** Why `engine` is null, for the 503. */
  engineUnavailableReason: string;
  /** null where no audio backend loads. */
  audio: AudioBackend | null;
  audioUnavailableReason: string;
  power: PowerManager;
  wol: WolTarget | null;
  /** The API's "desktop sessions": who may open /ws/desktop, until when. */
  leases: DesktopLeases;
  log: (message: string) => void;
}
