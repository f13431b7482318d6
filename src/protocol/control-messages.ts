// The JSON carried by UDP datagrams: the agent's handshake (a datagram starting with `{`, no type
// byte) and the body of type-4 control packets. docs/protocol.md lists the fields.

import { type JsonObject, finiteNumberField, integerField, parseTypedJson, stringField } from './json-fields.js';
import { type ParseResult, fail, ok } from './result.js';
import { STREAM_FEEDBACK_TYPES, type StreamFeedbackMessage, keepaliveStamp, parseStreamFeedback } from './stream-feedback.js';

/** JSON payloads above this are refused before parsing (a real one is well under 1 KiB). */
export const MAX_CONTROL_JSON_BYTES = 4096;

/** Screen sizes and coordinates in control messages are limited to what a uint16 holds. */
const MAX_SCREEN_SIDE = 65535;

/** The reference client's first datagram. `timestamp` is whatever number it sends (ticks or seconds). */
export interface Handshake {
  session_code: string;
  screen_width: number;
  screen_height: number;
  timestamp: number;
  /**
   * Ours only: base64url HMAC-SHA256 over the code and timestamp with the agent secret the broker
   * gave this agent (agentHandshakeProof in crypto/). Without it, only a session created with
   * allow_unencrypted_agent accepts the handshake (the reference client).
   */
  agent_proof?: string;
}

export type ControlMessage =
  /** `t`: a sender's timestamp the agent echoes back in a sealed keepalive (round-trip time). */
  | { type: 'keepalive'; t?: number }
  | { type: 'viewer_hello'; ticket: string }
  | { type: 'viewer_ack'; cookie: string }
  | { type: 'viewer_confirm'; cookie: string }
  | { type: 'viewer_ready' }
  | { type: 'disconnect'; reason?: DisconnectReason }
  | { type: 'request_keyframe' }
  | { type: 'set_quality'; quality: number; fps: number }
  | { type: 'select_monitor'; monitor_id: string }
  | { type: 'screen'; width: number; height: number }
  | StreamFeedbackMessage;

export type ControlType = ControlMessage['type'];

/** Why a `disconnect` was sent: "shutdown" means the broker is restarting (come back), else the end. */
export type DisconnectReason = 'shutdown' | 'closed' | 'stopped';
const DISCONNECT_REASONS: readonly string[] = ['shutdown', 'closed', 'stopped'];

/** Cookies and tickets are base64url text of at most this many characters. */
const MAX_TOKEN_CHARS = 256;

/** A well-formed control object whose `type` we do not know: relays pass these on, endpoints ignore them. */
export interface UnknownControlMessage {
  type: 'unknown';
  /** The `type` string the sender used. */
  name: string;
  body: JsonObject;
}

export const CONTROL_TYPES: readonly ControlType[] = [
  'keepalive',
  'viewer_hello',
  'viewer_ack',
  'viewer_confirm',
  'viewer_ready',
  'disconnect',
  'request_keyframe',
  'set_quality',
  'select_monitor',
  'screen',
  ...STREAM_FEEDBACK_TYPES,
];

const isControlType = (type: string): type is ControlType => (CONTROL_TYPES as readonly string[]).includes(type);

/** Parses the bytes after the `{`-sniff of a handshake datagram (the whole datagram). Never throws. */
export function parseHandshake(bytes: Uint8Array): ParseResult<Handshake> {
  const what = 'handshake';
  const parsed = parseTypedJson(bytes, MAX_CONTROL_JSON_BYTES, what);
  if (!parsed.ok) return parsed;
  const object = parsed.value;
  if (object.type !== 'handshake') {
    return fail('NOT_A_HANDSHAKE', `JSON datagram of type "${object.type.slice(0, 40)}": only "handshake" is sent without a type byte`);
  }
  const code = stringField(object, 'session_code', what, { max: 64 });
  if (!code.ok) return code;
  const width = integerField(object, 'screen_width', what, 1, MAX_SCREEN_SIDE);
  if (!width.ok) return width;
  const height = integerField(object, 'screen_height', what, 1, MAX_SCREEN_SIDE);
  if (!height.ok) return height;
  const timestamp = finiteNumberField(object, 'timestamp', what);
  if (!timestamp.ok) return timestamp;
  const handshake: Handshake = {
    session_code: code.value,
    screen_width: width.value,
    screen_height: height.value,
    timestamp: timestamp.value,
  };
  if (object.agent_proof !== undefined) {
    const proof = stringField(object, 'agent_proof', what, { max: MAX_TOKEN_CHARS });
    if (!proof.ok) return proof;
    handshake.agent_proof = proof.value;
  }
  return ok(handshake);
}

/** Parses a type-4 body (the bytes after the type byte). Unknown types are returned, not refused. */
export function parseControlMessage(bytes: Uint8Array): ParseResult<ControlMessage | UnknownControlMessage> {
  const what = 'control message';
  const parsed = parseTypedJson(bytes, MAX_CONTROL_JSON_BYTES, what);
  if (!parsed.ok) return parsed;
  const object = parsed.value;
  const type = object.type;
  if (!isControlType(type)) return ok({ type: 'unknown', name: type, body: object });
  const label = `${what} "${type}"`;
  switch (type) {
    case 'keepalive':
      return ok({ type, ...keepaliveStamp(object) });
    case 'viewer_ready':
    case 'request_keyframe':
      return ok({ type });
    case 'disconnect': {
      // Unknown reasons are dropped, not refused: the reference client sends none.
      const reason = object.reason;
      return ok(
        typeof reason === 'string' && DISCONNECT_REASONS.includes(reason) ? { type, reason: reason as DisconnectReason } : { type },
      );
    }
    case 'viewer_ack':
    case 'viewer_confirm': {
      const cookie = stringField(object, 'cookie', label, { max: MAX_TOKEN_CHARS });
      return cookie.ok ? ok({ type, cookie: cookie.value }) : cookie;
    }
    case 'viewer_hello': {
      const ticket = stringField(object, 'ticket', label, { max: MAX_TOKEN_CHARS });
      return ticket.ok ? ok({ type, ticket: ticket.value }) : ticket;
    }
    case 'set_quality': {
      const quality = integerField(object, 'quality', label, 1, 100);
      if (!quality.ok) return quality;
      const fps = integerField(object, 'fps', label, 1, 120);
      return fps.ok ? ok({ type, quality: quality.value, fps: fps.value }) : fps;
    }
    case 'select_monitor': {
      const id = stringField(object, 'monitor_id', label, { max: 256 });
      return id.ok ? ok({ type, monitor_id: id.value }) : id;
    }
    case 'screen': {
      const width = integerField(object, 'width', label, 1, MAX_SCREEN_SIDE);
      if (!width.ok) return width;
      const height = integerField(object, 'height', label, 1, MAX_SCREEN_SIDE);
      return height.ok ? ok({ type, width: width.value, height: height.value }) : height;
    }
    case 'receive_report':
    case 'stream_settings':
    case 'auto_quality':
      return parseStreamFeedback(type, object, label);
  }
}

/**
 * The handshake exactly as the reference client writes it: this key order, no spaces. A bigint
 * timestamp (e.g. .NET ticks) is written as its exact digits.
 */
export function handshakeJson(handshake: Omit<Handshake, 'timestamp'> & { timestamp: number | bigint }): string {
  const { session_code, screen_width, screen_height, timestamp, agent_proof } = handshake;
  const ts = typeof timestamp === 'bigint' ? timestamp.toString() : JSON.stringify(timestamp);
  const proof = agent_proof === undefined ? '' : `,"agent_proof":${JSON.stringify(agent_proof)}`;
  return `{"type":"handshake","session_code":${JSON.stringify(session_code)},"screen_width":${JSON.stringify(screen_width)},"screen_height":${JSON.stringify(screen_height)},"timestamp":${ts}${proof}}`;
}

/** The JSON text of a control message, `type` first, then its fields in declaration order. */
export function controlJson(message: ControlMessage): string {
  const { type, ...fields } = message;
  return JSON.stringify({ type, ...fields });
}
