// Refusing a WebSocket upgrade: the socket is still plain HTTP/1.1, so the answer is written by
// hand, with a status line, a JSON body, and the connection closed.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

export function refuseUpgrade(socket: Duplex, status: number, body: object, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(json)}\r\n${extra}\r\n${json}`,
  );
}
