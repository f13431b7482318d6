// The two sides of a session as a test plays them: WebSockets and UDP sockets with queues to await.
import { PATIENCE_MS } from './patience.js';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { WebSocket } from 'ws';

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

export interface SignalPeer {
  ws: WebSocket;
  messages: Inbox<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
  send(message: object): void;
}

export function wsUrl(brokerUrl: string, code: string): string {
  return `${brokerUrl.replace(/^http/, 'ws')}/ws/session/${code}`;
}

/** Opens the session WebSocket: the agent side without a token, the viewer side with one. */
export function openSignal(brokerUrl: string, code: string, token?: string, headers: Record<string, string> = {}): Promise<SignalPeer> {
  const ws = new WebSocket(wsUrl(brokerUrl, code), { headers: token ? { ...headers, authorization: `Bearer ${token}` } : headers });
  const messages = new Inbox<Record<string, unknown>>();
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
export function controlOf(datagram: Buffer): Record<string, unknown> | undefined {
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
