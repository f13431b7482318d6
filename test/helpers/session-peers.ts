// The two sides of a session as a test plays them: WebSockets and UDP sockets with queues to await,
// and the datagrams of docs/security.md built by hand (proven handshake, cookie echo, sealed header).
import { helperSocketTls } from './test-certificates.js';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { WebSocket } from 'ws';
import { agentHandshakeProof } from '../../src/protocol/crypto/keys.js';
import { encodeControl, encodeHandshake, encodeSealedHeader } from '../../src/protocol/datagram.js';
import type { ControlMessage } from '../../src/protocol/control-messages.js';
import type { SignalMessage } from '../../src/protocol/signal-messages.js';
import { openBrokerDatabase } from './broker-database.js';
import type { BrokerProcess } from './broker-process.js';
import { PATIENCE_MS } from './patience.js';

/** Values pushed by an event source, awaited one at a time with a timeout. */
export class Inbox<T> {
  readonly items: T[] = [];
  private waiters: { match: (v: T) => boolean; resolve: (v: T) => void }[] = [];

  push(value: T): void {
    this.items.push(value);
    const i = this.waiters.findIndex((w) => w.match(value));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w!.resolve(value);
    }
  }

  /** The first item (already received or future) that matches. */
  next(match: (v: T) => boolean = () => true, timeoutMs = PATIENCE_MS, what = 'a message'): Promise<T> {
    timeoutMs = Math.max(timeoutMs, PATIENCE_MS);
    const found = this.items.find(match);
    if (found !== undefined) {
      this.items.splice(this.items.indexOf(found), 1);
      return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (v: T) => {
          clearTimeout(timer);
          this.items.splice(this.items.indexOf(v), 1);
          resolve(v);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

/** A JSON object a party received: its fields are `unknown` until the test checks them. */
export type Json = Record<string, unknown>;

export interface SignalPeer {
  ws: WebSocket;
  messages: Inbox<Json>;
  closed: Promise<{ code: number; reason: string }>;
  send(message: object): void;
}

/** The next signalling message of this type, typed as the protocol defines it. */
export function nextOf<K extends SignalMessage['type']>(peer: SignalPeer, type: K): Promise<Extract<SignalMessage, { type: K }>> {
  return peer.messages.next((m) => m.type === type, PATIENCE_MS, `a "${type}" message`) as Promise<Extract<SignalMessage, { type: K }>>;
}

export function wsUrl(brokerUrl: string, code: string): string {
  return `${brokerUrl.replace(/^http/, 'ws')}/ws/session/${code}`;
}

export interface SignalOptions {
  /** A viewer's login token. */
  token?: string;
  /** A resuming agent's secret (X-Rac-Agent-Secret). */
  agentSecret?: string;
  headers?: Record<string, string>;
}

/** Opens the session WebSocket: the agent side without a token, the viewer side with one. */
export function openSignal(
  brokerUrl: string,
  code: string,
  tokenOrOptions: string | SignalOptions = {},
  extraHeaders: Record<string, string> = {},
): Promise<SignalPeer> {
  const options = typeof tokenOrOptions === 'string' ? { token: tokenOrOptions } : tokenOrOptions;
  const headers: Record<string, string> = { ...extraHeaders, ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.agentSecret) headers['x-rac-agent-secret'] = options.agentSecret;
  const ws = new WebSocket(wsUrl(brokerUrl, code), { headers, ...helperSocketTls });
  const messages = new Inbox<Json>();
  ws.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages, closed, send: (m) => ws.send(JSON.stringify(m)) }));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

/** The HTTP status an upgrade was refused with, or 0 when the WebSocket opened (and is closed again). */
export function refusal(opening: Promise<SignalPeer>): Promise<number> {
  return opening.then(
    (peer) => {
      peer.ws.close();
      return 0;
    },
    (err: { status?: number }) => err.status ?? -1,
  );
}

export interface UdpPeer {
  socket: Socket;
  port: number;
  received: Inbox<{ data: Buffer; from: RemoteInfo }>;
  send(data: Buffer | string, port: number): Promise<void>;
  close(): void;
}

export async function openUdp(): Promise<UdpPeer> {
  const socket = createSocket('udp4');
  const received = new Inbox<{ data: Buffer; from: RemoteInfo }>();
  socket.on('message', (data, from) => received.push({ data, from }));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    socket,
    port: socket.address().port,
    received,
    send: (data, port) =>
      new Promise((resolve, reject) =>
        socket.send(typeof data === 'string' ? Buffer.from(data) : data, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
      ),
    close: () => socket.close(),
  };
}

/** Type-4 control datagram → its JSON, else undefined. */
export function controlOf(datagram: Buffer): Json | undefined {
  if (datagram[0] !== 4) return undefined;
  try {
    return JSON.parse(datagram.subarray(1).toString('utf8'));
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Tries to bind a UDP port on loopback; returns the error code (e.g. EADDRINUSE), or null when it was free. */
export async function udpBindError(port: number): Promise<string | null> {
  const socket = createSocket('udp4');
  const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    socket.once('error', resolve);
    socket.bind({ port, address: '127.0.0.1', exclusive: true }, () => resolve(null));
  });
  socket.close();
  return error?.code ?? null;
}

/** A type-4 control datagram. */
export const control = (message: ControlMessage): Buffer => encodeControl(message);

/** The agent's handshake proving its secret, as our agent sends it. */
export function provenHandshake(code: string, secret: string, timestamp = Date.now()): Buffer {
  const agent_proof = agentHandshakeProof(secret, code, timestamp);
  return encodeHandshake({ session_code: code, screen_width: 1280, screen_height: 720, timestamp, agent_proof });
}

/** A sealed datagram with a valid header around `body` (opaque bytes: the relay cannot tell). */
export function sealedDatagram(toAgent: boolean, viewerId: number, body: Buffer, counter = 0n): Buffer {
  return Buffer.concat([encodeSealedHeader({ toAgent, viewerId, epoch: 0, counter }), body]);
}

/** viewer_hello → viewer_ack → viewer_confirm → viewer_ready: the viewer's address is pinned. */
export async function pinViewer(udp: UdpPeer, port: number, ticket: string): Promise<{ cookie: string }> {
  await udp.send(control({ type: 'viewer_hello', ticket }), port);
  const ack = controlOf((await udp.received.next((d) => controlOf(d.data)?.type === 'viewer_ack', PATIENCE_MS, 'viewer_ack')).data)!;
  const cookie = String(ack.cookie);
  await udp.send(control({ type: 'viewer_confirm', cookie }), port);
  await udp.received.next((d) => controlOf(d.data)?.type === 'viewer_ready', PATIENCE_MS, 'viewer_ready');
  return { cookie };
}

/**
 * Marks sessions as created with allow_unencrypted_agent, straight in the database of a STOPPED
 * broker (SQLite or PostgreSQL): the reference client's sessions.
 */
export async function allowUnencryptedAgent(broker: Pick<BrokerProcess, 'dataDir' | 'databaseUrl'>, sessionIds: number[]): Promise<void> {
  const db = await openBrokerDatabase(broker);
  try {
    for (const id of sessionIds) await db.run('UPDATE sessions SET allow_unencrypted_agent = 1 WHERE id = ?', [id]);
  } finally {
    await db.close();
  }
}
