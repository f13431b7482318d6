// Text messages on the session signalling WebSocket (DESIGN.md "WebSocket /ws/session/{code}"):
// ping/pong/disconnect both ways, udp_ticket and status to the IT member, viewer to the agent.
// parseSignalMessage never throws; an unknown `type` comes back as its own error code.

import { integerField, parseTypedJson, stringField } from './json-fields.js';
import { type Failure, fail } from './result.js';

export type SessionStatus = 'pending' | 'active' | 'disconnected' | 'closed';
export const SESSION_STATUSES: readonly SessionStatus[] = ['pending', 'active', 'disconnected', 'closed'];

export type SignalMessage =
  | { type: 'ping' }
  | { type: 'pong' }
  | { type: 'disconnect' }
  | { type: 'udp_ticket'; udp_port: number; ticket: string }
  | { type: 'status'; status: SessionStatus }
  | { type: 'viewer'; full_name: string; email: string };

export type SignalType = SignalMessage['type'];
export const SIGNAL_TYPES: readonly SignalType[] = ['ping', 'pong', 'disconnect', 'udp_ticket', 'status', 'viewer'];

/** A signalling message is small; anything above this is refused before parsing. */
export const MAX_SIGNAL_MESSAGE_BYTES = 8192;

export type SignalParseResult = { ok: true; message: SignalMessage } | (Failure & { type?: string });

const isSignalType = (type: string): type is SignalType => (SIGNAL_TYPES as readonly string[]).includes(type);

/**
 * Parses one WebSocket text message (a Buffer from ws is decoded as strict UTF-8). Extra fields are
 * ignored; a known type with a bad field is BAD_FIELD; an unknown type is UNKNOWN_TYPE with `type` set.
 */
export function parseSignalMessage(text: string | Uint8Array): SignalParseResult {
  const parsed = parseTypedJson(text, MAX_SIGNAL_MESSAGE_BYTES, 'signalling message');
  if (!parsed.ok) return parsed;
  const object = parsed.value;
  const type = object.type;
  if (!isSignalType(type)) {
    return { ...fail('UNKNOWN_TYPE', `signalling message of unknown type "${type.slice(0, 40)}"`), type };
  }
  const what = `signalling message "${type}"`;
  switch (type) {
    case 'ping':
    case 'pong':
    case 'disconnect':
      return { ok: true, message: { type } };
    case 'udp_ticket': {
      const port = integerField(object, 'udp_port', what, 1, 65535);
      if (!port.ok) return port;
      const ticket = stringField(object, 'ticket', what, { max: 1024 });
      return ticket.ok ? { ok: true, message: { type, udp_port: port.value, ticket: ticket.value } } : ticket;
    }
    case 'status': {
      const status = object.status;
      if (typeof status !== 'string' || !(SESSION_STATUSES as readonly string[]).includes(status)) {
        return fail('BAD_FIELD', `${what}: "status" must be one of ${SESSION_STATUSES.join(', ')}`);
      }
      return { ok: true, message: { type, status: status as SessionStatus } };
    }
    case 'viewer': {
      const fullName = stringField(object, 'full_name', what, { min: 0, max: 256 });
      if (!fullName.ok) return fullName;
      const email = stringField(object, 'email', what, { max: 320 });
      return email.ok ? { ok: true, message: { type, full_name: fullName.value, email: email.value } } : email;
    }
  }
}

/** The JSON text of a message, `type` first, only the fields its type has. */
export function encodeSignalMessage(message: SignalMessage): string {
  switch (message.type) {
    case 'ping':
    case 'pong':
    case 'disconnect':
      return JSON.stringify({ type: message.type });
    case 'udp_ticket':
      return JSON.stringify({ type: message.type, udp_port: message.udp_port, ticket: message.ticket });
    case 'status':
      return JSON.stringify({ type: message.type, status: message.status });
    case 'viewer':
      return JSON.stringify({ type: message.type, full_name: message.full_name, email: message.email });
  }
}

/** Builders returning the text to send. */
export const Signal = {
  ping: (): string => encodeSignalMessage({ type: 'ping' }),
  pong: (): string => encodeSignalMessage({ type: 'pong' }),
  disconnect: (): string => encodeSignalMessage({ type: 'disconnect' }),
  udpTicket: (udp_port: number, ticket: string): string => encodeSignalMessage({ type: 'udp_ticket', udp_port, ticket }),
  status: (status: SessionStatus): string => encodeSignalMessage({ type: 'status', status }),
  viewer: (full_name: string, email: string): string => encodeSignalMessage({ type: 'viewer', full_name, email }),
} as const;
