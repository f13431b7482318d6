// A WebSocket that reached the wrong node is passed, as bytes, to the node holding its session:
// the upgrade request is replayed to the owner's internal URL (with the client's address vouched
// for), the owner's answer goes back unchanged (its 101, or its refusal: authorisation stays
// there), then both sockets are piped until either side closes. The WebSocket frames, pings and
// close codes pass through untouched; this node never reads them.
import { type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { refuseUpgrade } from '../../http-kit/upgrade-refusal.js';

/** How long the owner may take to answer the upgrade before the client is told to retry. */
export const PROXY_CONNECT_TIMEOUT_MS = 5000;

/** Headers that describe this hop, not the request: node sets its own. */
const HOP_HEADERS = new Set(['host', 'x-forwarded-for']);

export interface ProxyTarget {
  /** The owner's internal URL (http:// or https://). */
  internalUrl: string;
  /** Headers added for the owner (the vouched client address). */
  headers: Record<string, string>;
}

export function proxyUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, target: ProxyTarget): void {
  const base = new URL(target.internalUrl);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && !HOP_HEADERS.has(name)) headers[name] = value;
  }
  Object.assign(headers, target.headers);
  const send = base.protocol === 'https:' ? httpsRequest : httpRequest;
  const upstream = send({
    protocol: base.protocol,
    hostname: base.hostname.replace(/^\[|\]$/g, ''),
    port: base.port || undefined,
    method: 'GET',
    path: request.url ?? '/',
    headers,
    timeout: PROXY_CONNECT_TIMEOUT_MS,
  });
  // Once the owner answered, the client has its answer: a later error only ends the sockets.
  let answered = false;
  upstream.on('upgrade', (answer: IncomingMessage, owner: Duplex, ownerHead: Buffer) => {
    answered = true;
    joinSockets(socket, head, answer, owner, ownerHead);
  });
  upstream.on('response', (answer: IncomingMessage) => {
    answered = true;
    passRefusal(socket, answer);
  });
  upstream.on('timeout', () => upstream.destroy(new Error('timeout')));
  upstream.on('error', () => (answered ? socket.destroy() : unreachable(socket, upstream)));
  socket.once('close', () => upstream.destroy());
  upstream.end();
}

function joinSockets(client: Duplex, clientHead: Buffer, answer: IncomingMessage, owner: Duplex, ownerHead: Buffer): void {
  client.write(statusBlock(answer));
  if (ownerHead.length > 0) client.write(ownerHead);
  if (clientHead.length > 0) owner.write(clientHead);
  client.pipe(owner);
  owner.pipe(client);
  // Either end closing ends the other: the WebSocket's close frame (if any) has already passed.
  const end = () => {
    client.destroy();
    owner.destroy();
  };
  client.once('close', end);
  owner.once('close', end);
  client.on('error', end);
  owner.on('error', end);
}

/** The owner refused the upgrade (401, 403, 429…): the client gets that answer as it was. */
function passRefusal(client: Duplex, answer: IncomingMessage): void {
  const chunks: Buffer[] = [];
  answer.on('data', (chunk: Buffer) => chunks.push(chunk));
  answer.on('end', () => {
    const body = Buffer.concat(chunks);
    const block = statusBlock(answer, { 'content-length': String(body.length), connection: 'close' });
    client.end(Buffer.concat([Buffer.from(block), body]));
  });
  answer.on('error', () => client.destroy());
}

function statusBlock(answer: IncomingMessage, replace: Record<string, string> = {}): string {
  const lines = [`HTTP/1.1 ${answer.statusCode ?? 502} ${answer.statusMessage ?? ''}`];
  const raw = answer.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.toLowerCase() in replace || name.toLowerCase() === 'transfer-encoding') continue;
    lines.push(`${name}: ${raw[i + 1]!}`);
  }
  for (const [name, value] of Object.entries(replace)) lines.push(`${name}: ${value}`);
  return lines.join('\r\n') + '\r\n\r\n';
}

function unreachable(client: Duplex, upstream: ClientRequest): void {
  upstream.destroy();
  if (client.destroyed || !client.writable) return;
  refuseUpgrade(
    client,
    503,
    { detail: 'The broker node holding this session is not reachable: try again in a moment' },
    { 'Retry-After': '2' },
  );
}
