// Text messages on the session signalling WebSocket, /ws/session/{code} (docs/protocol.md lists
// who sends which). Besides status and liveness, this is where the key exchange of docs/security.md
// travels: the broker forwards key_commit, agent_key and viewer_key between the agent and each
// viewer and can read them, which is why both people compare the short authentication string.
// parseSignalMessage never throws; an unknown `type` comes back as its own error code.

import { type JsonObject, integerField, isRelayHost, parseTypedJson, stringField } from './json-fields.js';
import { type Failure, type ParseResult, fail, ok } from './result.js';
import { isSshHostKeyLine } from './ssh-host-key.js';
import { TUNNEL_TOKEN_MAX_LENGTH } from './tunnel-token.js';

export type SessionStatus = 'pending' | 'active' | 'disconnected' | 'closed';
export const SESSION_STATUSES: readonly SessionStatus[] = ['pending', 'active', 'disconnected', 'closed'];

/** base64url of 32 bytes (an X25519 public key, a SHA-256 commitment, a secret): 43 characters. */
export const KEY_TEXT_CHARS = 43;

export type SignalMessage =
  // both ways
  | { type: 'ping' }
  | { type: 'pong' }
  | { type: 'disconnect' }
  // broker → agent
  // viewers: on a resume, the ids of the viewers the broker holds (absent from older brokers)
  | { type: 'agent_welcome'; session_id: number; resumed: boolean; agent_secret?: string; viewers?: number[] }
  | { type: 'viewer'; viewer_id: number; full_name: string; email: string; commitment: string }
  | { type: 'viewer_left'; viewer_id: number }
  // broker → viewer
  | { type: 'joined'; viewer_id: number; session_id: number; allow_unencrypted_agent: boolean }
  // relay_host: the relay of the broker node holding the session, when it is not the host the viewer connected to
  | { type: 'udp_ticket'; udp_port: number; ticket: string; relay_host?: string }
  | { type: 'status'; status: SessionStatus }
  | { type: 'agent_joined'; resumed: boolean }
  // viewer → broker
  | { type: 'key_commit'; commitment: string }
  | { type: 'udp_ticket_request' }
  // agent → broker → viewer, and viewer → broker → agent (viewer_id names the pair)
  | { type: 'agent_key'; viewer_id: number; public_key: string; ssh_host_key?: string }
  | { type: 'viewer_key'; viewer_id: number; public_key: string }
  // `rac shell` / `rac cp` / `rac tunnel` (agent with --allow-shell): agent → broker, broker → agent, agent → broker
  | { type: 'agent_host_key'; public_key: string }
  | { type: 'tunnel_open'; stream_id: number; full_name: string; email: string; token: string }
  | { type: 'tunnel_refused'; stream_id: number; reason: TunnelRefusal };

/** Why an agent did not take a tunnel stream: no --allow-shell, the customer said no, or the stream token did not verify. */
export type TunnelRefusal = 'shell_not_allowed' | 'declined' | 'bad_token';
export const TUNNEL_REFUSALS: readonly TunnelRefusal[] = ['shell_not_allowed', 'declined', 'bad_token'];

/** Tunnel stream ids are uint32, 0 never used. */
export const MAX_STREAM_ID = 0xffff_ffff;

export type SignalType = SignalMessage['type'];
export const SIGNAL_TYPES: readonly SignalType[] = [
  'ping',
  'pong',
  'disconnect',
  'agent_welcome',
  'viewer',
  'viewer_left',
  'joined',
  'udp_ticket',
  'status',
  'agent_joined',
  'key_commit',
  'udp_ticket_request',
  'agent_key',
  'viewer_key',
  'agent_host_key',
  'tunnel_open',
  'tunnel_refused',
];

/** A signalling message is small; anything above this is refused before parsing. */
export const MAX_SIGNAL_MESSAGE_BYTES = 8192;

/** Viewer ids are uint16 on the wire (the sealed datagram header). 0 is never used. */
export const MAX_VIEWER_ID = 0xffff;

/**
 * At most this many ids in an agent_welcome's `viewers`: the most viewers a broker lets one session
 * have (--max-viewers' ceiling). 1000 five-digit ids still fit in MAX_SIGNAL_MESSAGE_BYTES.
 */
export const MAX_WELCOME_VIEWERS = 1000;

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
  const fields = readFields(type, object, `signalling message "${type}"`);
  return fields.ok ? { ok: true, message: fields.value } : fields;
}

type Reader = (object: JsonObject, what: string) => ParseResult<SignalMessage>;

const viewerId = (object: JsonObject, what: string) => integerField(object, 'viewer_id', what, 1, MAX_VIEWER_ID);
const KEY_TEXT = /^[A-Za-z0-9_-]{43}$/;
function keyText(object: JsonObject, field: string, what: string): ParseResult<string> {
  const value = object[field];
  return typeof value === 'string' && KEY_TEXT.test(value)
    ? ok(value)
    : fail('BAD_FIELD', `${what}: "${field}" must be ${KEY_TEXT_CHARS} characters of base64url`);
}

/** Reads `fields` in order with their readers; the first failure wins. */
function all<T extends Record<string, unknown>>(readers: { [K in keyof T]: () => ParseResult<T[K]> }): ParseResult<T> {
  const out: Record<string, unknown> = {};
  for (const [name, read] of Object.entries(readers) as [string, () => ParseResult<unknown>][]) {
    const result = read();
    if (!result.ok) return result;
    out[name] = result.value;
  }
  return ok(out as T);
}

function booleanField(object: JsonObject, field: string, what: string): ParseResult<boolean> {
  const value = object[field];
  return typeof value === 'boolean' ? ok(value) : fail('BAD_FIELD', `${what}: "${field}" must be true or false`);
}

function hostKeyLine(object: JsonObject, field: string, what: string): ParseResult<string> {
  const value = object[field];
  return isSshHostKeyLine(value) ? ok(value) : fail('BAD_FIELD', `${what}: "${field}" must be an "ssh-ed25519 AAAA…" public key line`);
}

/** agent_welcome's optional `viewers`: distinct viewer ids, at most MAX_WELCOME_VIEWERS; undefined when absent. */
function welcomeViewers(object: JsonObject, what: string): ParseResult<number[] | undefined> {
  const value = object.viewers;
  if (value === undefined) return ok(undefined);
  const valid =
    Array.isArray(value) &&
    value.length <= MAX_WELCOME_VIEWERS &&
    value.every((id) => Number.isInteger(id) && (id as number) >= 1 && (id as number) <= MAX_VIEWER_ID) &&
    new Set(value).size === value.length;
  return valid
    ? ok(value as number[])
    : fail('BAD_FIELD', `${what}: "viewers" must be a list of at most ${MAX_WELCOME_VIEWERS} distinct viewer ids (1 to ${MAX_VIEWER_ID})`);
}

const streamId = (object: JsonObject, what: string) => integerField(object, 'stream_id', what, 1, MAX_STREAM_ID);

const TUNNEL_READERS: { [K in 'agent_host_key' | 'tunnel_open' | 'tunnel_refused']: Reader } = {
  agent_host_key: (o, what) => {
    const key = hostKeyLine(o, 'public_key', what);
    return key.ok ? ok({ type: 'agent_host_key', public_key: key.value }) : key;
  },
  tunnel_open: (o, what) => {
    const r = all({
      stream_id: () => streamId(o, what),
      full_name: () => stringField(o, 'full_name', what, { min: 0, max: 256 }),
      email: () => stringField(o, 'email', what, { max: 320 }),
      token: () => stringField(o, 'token', what, { max: TUNNEL_TOKEN_MAX_LENGTH }),
    });
    return r.ok ? ok({ type: 'tunnel_open', ...r.value }) : r;
  },
  tunnel_refused: (o, what) => {
    const id = streamId(o, what);
    if (!id.ok) return id;
    const reason = o.reason;
    if (typeof reason !== 'string' || !(TUNNEL_REFUSALS as readonly string[]).includes(reason))
      return fail('BAD_FIELD', `${what}: "reason" must be one of ${TUNNEL_REFUSALS.join(', ')}`);
    return ok({ type: 'tunnel_refused', stream_id: id.value, reason: reason as TunnelRefusal });
  },
};

const READERS: { [K in SignalType]: Reader } = {
  ...TUNNEL_READERS,
  ping: () => ok({ type: 'ping' }),
  pong: () => ok({ type: 'pong' }),
  disconnect: () => ok({ type: 'disconnect' }),
  udp_ticket_request: () => ok({ type: 'udp_ticket_request' }),
  agent_welcome: (o, what) => {
    const base = all({
      session_id: () => integerField(o, 'session_id', what, 1, Number.MAX_SAFE_INTEGER),
      resumed: () => booleanField(o, 'resumed', what),
    });
    if (!base.ok) return base;
    const viewers = welcomeViewers(o, what);
    if (!viewers.ok) return viewers;
    const held = viewers.value === undefined ? {} : { viewers: viewers.value };
    if (o.agent_secret === undefined) return ok({ type: 'agent_welcome', ...base.value, ...held });
    const secret = keyText(o, 'agent_secret', what);
    return secret.ok ? ok({ type: 'agent_welcome', ...base.value, agent_secret: secret.value, ...held }) : secret;
  },
  viewer: (o, what) => {
    const r = all({
      viewer_id: () => viewerId(o, what),
      full_name: () => stringField(o, 'full_name', what, { min: 0, max: 256 }),
      email: () => stringField(o, 'email', what, { max: 320 }),
      commitment: () => keyText(o, 'commitment', what),
    });
    return r.ok ? ok({ type: 'viewer', ...r.value }) : r;
  },
  viewer_left: (o, what) => {
    const id = viewerId(o, what);
    return id.ok ? ok({ type: 'viewer_left', viewer_id: id.value }) : id;
  },
  joined: (o, what) => {
    const r = all({
      viewer_id: () => viewerId(o, what),
      session_id: () => integerField(o, 'session_id', what, 1, Number.MAX_SAFE_INTEGER),
      allow_unencrypted_agent: () => booleanField(o, 'allow_unencrypted_agent', what),
    });
    return r.ok ? ok({ type: 'joined', ...r.value }) : r;
  },
  udp_ticket: (o, what) => {
    const r = all({
      udp_port: () => integerField(o, 'udp_port', what, 1, 65535),
      ticket: () => stringField(o, 'ticket', what, { max: 256 }),
    });
    if (!r.ok) return r;
    if (o.relay_host === undefined) return ok({ type: 'udp_ticket', ...r.value });
    if (!isRelayHost(o.relay_host)) return fail('BAD_FIELD', `${what}: "relay_host" must be a host name or IP address`);
    return ok({ type: 'udp_ticket', ...r.value, relay_host: o.relay_host });
  },
  status: (o, what) => {
    const status = o.status;
    if (typeof status !== 'string' || !(SESSION_STATUSES as readonly string[]).includes(status)) {
      return fail('BAD_FIELD', `${what}: "status" must be one of ${SESSION_STATUSES.join(', ')}`);
    }
    return ok({ type: 'status', status: status as SessionStatus });
  },
  agent_joined: (o, what) => {
    const resumed = booleanField(o, 'resumed', what);
    return resumed.ok ? ok({ type: 'agent_joined', resumed: resumed.value }) : resumed;
  },
  key_commit: (o, what) => {
    const commitment = keyText(o, 'commitment', what);
    return commitment.ok ? ok({ type: 'key_commit', commitment: commitment.value }) : commitment;
  },
  agent_key: (o, what) => {
    const r = all({ viewer_id: () => viewerId(o, what), public_key: () => keyText(o, 'public_key', what) });
    if (!r.ok) return r;
    if (o.ssh_host_key === undefined) return ok({ type: 'agent_key', ...r.value });
    const hostKey = hostKeyLine(o, 'ssh_host_key', what);
    return hostKey.ok ? ok({ type: 'agent_key', ...r.value, ssh_host_key: hostKey.value }) : hostKey;
  },
  viewer_key: (o, what) => {
    const r = all({ viewer_id: () => viewerId(o, what), public_key: () => keyText(o, 'public_key', what) });
    return r.ok ? ok({ type: 'viewer_key', ...r.value }) : r;
  },
};

function readFields(type: SignalType, object: JsonObject, what: string): ParseResult<SignalMessage> {
  return READERS[type](object, what);
}

/** The JSON text of a message (the builders below give each type exactly its fields, `type` first). */
export function encodeSignalMessage(message: SignalMessage): string {
  return JSON.stringify(message);
}

/** Builders returning the text to send, so no caller writes signalling JSON by hand. */
export const Signal = {
  ping: (): string => encodeSignalMessage({ type: 'ping' }),
  pong: (): string => encodeSignalMessage({ type: 'pong' }),
  disconnect: (): string => encodeSignalMessage({ type: 'disconnect' }),
  agentWelcome: (session_id: number, resumed: boolean, agent_secret?: string, viewers?: number[]): string =>
    encodeSignalMessage({
      type: 'agent_welcome',
      session_id,
      resumed,
      ...(agent_secret === undefined ? {} : { agent_secret }),
      ...(viewers === undefined ? {} : { viewers }),
    }),
  viewer: (viewer_id: number, full_name: string, email: string, commitment: string): string =>
    encodeSignalMessage({ type: 'viewer', viewer_id, full_name, email, commitment }),
  viewerLeft: (viewer_id: number): string => encodeSignalMessage({ type: 'viewer_left', viewer_id }),
  joined: (viewer_id: number, session_id: number, allow_unencrypted_agent: boolean): string =>
    encodeSignalMessage({ type: 'joined', viewer_id, session_id, allow_unencrypted_agent }),
  udpTicket: (udp_port: number, ticket: string, relay_host?: string): string =>
    encodeSignalMessage(relay_host ? { type: 'udp_ticket', udp_port, ticket, relay_host } : { type: 'udp_ticket', udp_port, ticket }),
  status: (status: SessionStatus): string => encodeSignalMessage({ type: 'status', status }),
  agentJoined: (resumed: boolean): string => encodeSignalMessage({ type: 'agent_joined', resumed }),
  keyCommit: (commitment: string): string => encodeSignalMessage({ type: 'key_commit', commitment }),
  udpTicketRequest: (): string => encodeSignalMessage({ type: 'udp_ticket_request' }),
  agentKey: (viewer_id: number, public_key: string, ssh_host_key?: string): string =>
    encodeSignalMessage(
      ssh_host_key === undefined
        ? { type: 'agent_key', viewer_id, public_key }
        : { type: 'agent_key', viewer_id, public_key, ssh_host_key },
    ),
  viewerKey: (viewer_id: number, public_key: string): string => encodeSignalMessage({ type: 'viewer_key', viewer_id, public_key }),
  agentHostKey: (public_key: string): string => encodeSignalMessage({ type: 'agent_host_key', public_key }),
  tunnelOpen: (stream_id: number, full_name: string, email: string, token: string): string =>
    encodeSignalMessage({ type: 'tunnel_open', stream_id, full_name, email, token }),
  tunnelRefused: (stream_id: number, reason: TunnelRefusal): string => encodeSignalMessage({ type: 'tunnel_refused', stream_id, reason }),
} as const;

// The agent's join (the upgrade request of its signalling WebSocket) says whether it allows a
// shell: the broker then knows at once whether an `agent_host_key` is coming. Absent (older agents,
// the reference client): the broker does not know, and waits a moment for the key.
export const AGENT_SHELL_HEADER = 'x-rac-agent-shell';
export type AgentShell = 'allowed' | 'not-allowed';
const AGENT_SHELLS: readonly string[] = ['allowed', 'not-allowed'] satisfies AgentShell[];

/** The header's value for an agent that does (or does not) allow a shell. */
export const agentShellHeader = (allowsShell: boolean): AgentShell => (allowsShell ? 'allowed' : 'not-allowed');

/** The header as the broker reads it: anything but the two values is as if absent (undefined). */
export const parseAgentShell = (value: string | string[] | undefined): AgentShell | undefined =>
  typeof value === 'string' && AGENT_SHELLS.includes(value) ? (value as AgentShell) : undefined;
