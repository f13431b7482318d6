// Dialling a tunnel WebSocket as a client (the IT member's rac, the customer's agent): the HTTP
// upgrade of RFC 6455 over node:http or node:https (with the CA file's trust), checked against the
// accept key, and the socket handed over as a TunnelSocket. A refused upgrade is a
// TunnelDialRefused with the broker's status and body, so callers can say what the broker said.
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { acceptKeyFor } from '../protocol/websocket-frames.js';
import { type TlsTrust, tlsConnectOptions } from './tls-trust.js';
import { TunnelSocket } from './tunnel-socket.js';

export interface TunnelDialOptions {
  headers?: Record<string, string>;
  tls?: TlsTrust;
  /** How long the broker has to answer the upgrade. */
  timeoutMs: number;
}

/** The broker answered the upgrade with an HTTP status instead of 101. */
export class TunnelDialRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`the broker answered HTTP ${status}`);
    this.name = 'TunnelDialRefused';
  }
}

/** Opens the WebSocket at `url` (http:, https:, ws: or wss:); resolves once the broker switched protocols. */
export function dialTunnel(url: URL, options: TunnelDialOptions): Promise<TunnelSocket> {
  const target = new URL(url);
  target.protocol = /^(wss|https):$/.test(target.protocol) ? 'https:' : 'http:';
  const key = randomBytes(16).toString('base64');
  const headers = {
    ...options.headers,
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': key,
  };
  const request =
    target.protocol === 'https:'
      ? httpsRequest(target, { headers, ...tlsConnectOptions(options.tls ?? {}) })
      : httpRequest(target, { headers });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => request.destroy(new Error('the broker did not answer in time')), options.timeoutMs);
    const settle = () => clearTimeout(timer);
    request.once('error', (err) => (settle(), reject(err)));
    request.once('upgrade', (response, socket, head) => {
      settle();
      if (response.headers['sec-websocket-accept'] !== acceptKeyFor(key)) {
        socket.destroy();
        return reject(new Error('the broker answered the upgrade with a wrong accept key'));
      }
      resolve(new TunnelSocket(socket, head, 'client'));
    });
    request.once('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk.slice(0, 4096 - body.length)));
      response.once('end', () => (settle(), reject(new TunnelDialRefused(response.statusCode ?? 0, body))));
      response.once('error', (err) => (settle(), reject(err)));
    });
    request.end();
  });
}
