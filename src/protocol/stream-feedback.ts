// The sealed control messages that let the agent adapt the stream to the link (docs/protocol.md,
// "Receive reports and stream settings"): the viewer's once-a-second receive report, the settings
// the agent streams with, the viewer's return to automatic, and the timestamp a keepalive carries
// so its echo measures the round trip. Bounds-checked like every parser here; never throws.
import { type JsonObject, integerField } from './json-fields.js';
import { type ParseResult, fail, ok } from './result.js';

/** What a viewer received over one report window. */
export interface ReceiveReport {
  type: 'receive_report';
  /** Milliseconds the window covered. */
  interval_ms: number;
  /** Frames reassembled whole. */
  frames: number;
  /** Frames given up on (a chunk never came). */
  lost: number;
  /** Datagram bytes received (sealed, as on the wire). */
  bytes: number;
  /** Mean time to decode a frame, when one was decoded. */
  decode_ms?: number;
  /** Smoothed round trip of sealed keepalive echoes, when one came back. */
  rtt_ms?: number;
  /**
   * The id of the newest update received whole (a full frame, or every rectangle of an update), as
   * a decimal string (ids are 64-bit); absent from an older viewer, or before anything arrived.
   */
  last_frame?: string;
}

/** The quality and frame rate the agent streams with; `auto` false when a viewer pinned them. */
export interface StreamSettings {
  type: 'stream_settings';
  quality: number;
  fps: number;
  auto: boolean;
}

/** A viewer hands quality and frame rate back to the agent's controller (undoes `set_quality`). */
export interface AutoQuality {
  type: 'auto_quality';
}

export type StreamFeedbackMessage = ReceiveReport | StreamSettings | AutoQuality;
export const STREAM_FEEDBACK_TYPES = ['receive_report', 'stream_settings', 'auto_quality'] as const;

const MAX_WINDOW_MS = 60_000;
const MAX_FRAMES = 100_000;
/** A window's bytes: 1 GB is far above any link this runs on. */
const MAX_WINDOW_BYTES = 1_000_000_000;
/** Keepalive timestamps are milliseconds of the sender's clock: non-negative safe integers. */
const MAX_TIMESTAMP = Number.MAX_SAFE_INTEGER;
/** Frame ids are int64 on the wire and never negative: canonical decimal, at most 2^63 − 1. */
const FRAME_ID_PATTERN = /^(0|[1-9][0-9]{0,18})$/;
const MAX_FRAME_ID = 2n ** 63n - 1n;

export function parseStreamFeedback(
  type: StreamFeedbackMessage['type'],
  object: JsonObject,
  label: string,
): ParseResult<StreamFeedbackMessage> {
  switch (type) {
    case 'receive_report':
      return parseReceiveReport(object, label);
    case 'stream_settings': {
      const quality = integerField(object, 'quality', label, 1, 100);
      if (!quality.ok) return quality;
      const fps = integerField(object, 'fps', label, 1, 120);
      if (!fps.ok) return fps;
      if (typeof object.auto !== 'boolean') return fail('BAD_FIELD', `${label}: "auto" must be true or false`);
      return ok({ type, quality: quality.value, fps: fps.value, auto: object.auto });
    }
    case 'auto_quality':
      return ok({ type });
  }
}

function parseReceiveReport(object: JsonObject, label: string): ParseResult<ReceiveReport> {
  const interval = integerField(object, 'interval_ms', label, 1, MAX_WINDOW_MS);
  if (!interval.ok) return interval;
  const frames = integerField(object, 'frames', label, 0, MAX_FRAMES);
  if (!frames.ok) return frames;
  const lost = integerField(object, 'lost', label, 0, MAX_FRAMES);
  if (!lost.ok) return lost;
  const bytes = integerField(object, 'bytes', label, 0, MAX_WINDOW_BYTES);
  if (!bytes.ok) return bytes;
  const report: ReceiveReport = {
    type: 'receive_report',
    interval_ms: interval.value,
    frames: frames.value,
    lost: lost.value,
    bytes: bytes.value,
  };
  for (const field of ['decode_ms', 'rtt_ms'] as const) {
    if (object[field] === undefined) continue;
    const value = integerField(object, field, label, 0, MAX_WINDOW_MS);
    if (!value.ok) return value;
    report[field] = value.value;
  }
  if (object.last_frame === undefined) return ok(report);
  const lastFrame = object.last_frame;
  if (typeof lastFrame !== 'string' || !FRAME_ID_PATTERN.test(lastFrame) || BigInt(lastFrame) > MAX_FRAME_ID) {
    return fail('BAD_FIELD', `${label}: "last_frame" must be a frame id in decimal, from 0 to ${MAX_FRAME_ID}`);
  }
  return ok({ ...report, last_frame: lastFrame });
}

/** A keepalive's optional `t` (the sender's clock, echoed back by the agent); absent when not a valid one. */
export function keepaliveStamp(object: JsonObject): { t?: number } {
  const t = object.t;
  return typeof t === 'number' && Number.isInteger(t) && t >= 0 && t <= MAX_TIMESTAMP ? { t } : {};
}
