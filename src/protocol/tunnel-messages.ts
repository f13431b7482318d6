// The tunnel WebSocket, /ws/session/{code}/tunnel (docs/protocol.md, "Tunnels"): the broker sends
// the IT side one text message, tunnel_ready, once the customer's agent has dialled its end; every
// message after it is binary, SSH bytes both ways. The password is a stream token: it is valid for
// this one stream for at most a minute, and only the customer's agent can check it.
import { integerField, parseTypedJson, stringField } from './json-fields.js';
import { type ParseResult, fail, ok } from './result.js';
import { MAX_STREAM_ID } from './signal-messages.js';
import { isSshHostKeyLine } from './ssh-host-key.js';

export interface TunnelReady {
  type: 'tunnel_ready';
  stream_id: number;
  /** The agent's SSH host key, an OpenSSH public key line: "ssh-ed25519 AAAA…". */
  host_key: string;
  /** The SSH user name: the IT member's email. */
  username: string;
  /** The stream token, presented as the SSH password. */
  password: string;
}

const MAX_TUNNEL_READY_BYTES = 8192;

export const encodeTunnelReady = (ready: Omit<TunnelReady, 'type'>): string =>
  JSON.stringify({
    type: 'tunnel_ready',
    stream_id: ready.stream_id,
    host_key: ready.host_key,
    username: ready.username,
    password: ready.password,
  });

/** Parses the first message of a tunnel. Never throws. */
export function parseTunnelReady(text: string | Uint8Array): ParseResult<TunnelReady> {
  const parsed = parseTypedJson(text, MAX_TUNNEL_READY_BYTES, 'tunnel message');
  if (!parsed.ok) return parsed;
  const o = parsed.value;
  const what = 'tunnel message "tunnel_ready"';
  if (o.type !== 'tunnel_ready') return fail('UNKNOWN_TYPE', `expected "tunnel_ready", got "${o.type.slice(0, 40)}"`);
  const streamId = integerField(o, 'stream_id', what, 1, MAX_STREAM_ID);
  if (!streamId.ok) return streamId;
  const hostKey = o.host_key;
  if (!isSshHostKeyLine(hostKey)) return fail('BAD_FIELD', `${what}: "host_key" must be an "ssh-ed25519 AAAA…" public key line`);
  const username = stringField(o, 'username', what, { max: 320 });
  if (!username.ok) return username;
  const password = stringField(o, 'password', what, { max: 2048 });
  if (!password.ok) return password;
  return ok({ type: 'tunnel_ready', stream_id: streamId.value, host_key: hostKey, username: username.value, password: password.value });
}
