// A WebSocket upgrade passed to another node as bytes: messages both ways (text and binary), the
// owner's close code, the owner's refusal as it was sent, the vouched client address, and a 503
// when the owner cannot be reached.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import t, { type Test } from 'tap';
import { WebSocket, WebSocketServer } from 'ws';
import { forwardedAddress, forwardedHeaders, forwardingKey } from '../src/broker/cluster/forwarded-address.js';
import { proxyUpgrade } from '../src/broker/cluster/upgrade-proxy.js';
import { refuseUpgrade } from '../src/http-kit/upgrade-refusal.js';
import { Inbox } from './helpers/session-peers.js';

const key = forwardingKey(Buffer.alloc(64, 7));

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The owner: echoes messages, closes with 4321 on "bye", refuses /refuse with 403, records who it was told the client is. */
async function startOwner(t: Test) {
  const seen: (string | undefined)[] = [];
  const ownerSideClosed = new Inbox<number>();
  const wss = new WebSocketServer({ noServer: true });
  const server = createServer();
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    seen.push(forwardedAddress(request, key));
    if (request.url === '/refuse') return refuseUpgrade(socket, 403, { detail: 'Forbidden here' });
    wss.handleUpgrade(request, socket, head, (ws) => {
      ws.on('close', (code) => ownerSideClosed.push(code));
      ws.on('message', (data, isBinary) =>
        String(data) === 'bye' ? ws.close(4321, 'owner says bye') : ws.send(data, { binary: isBinary }),
      );
    });
  });
  const url = await listen(server);
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  t.teardown(() => server.closeAllConnections());
  return { url, seen, ownerSideClosed };
}

async function startFront(t: Test, ownerUrl: string): Promise<string> {
  const server = createServer();
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) =>
    proxyUpgrade(request, socket, head, { internalUrl: ownerUrl, headers: forwardedHeaders(key, request.socket.remoteAddress ?? '') }),
  );
  const url = await listen(server);
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  t.teardown(() => server.closeAllConnections());
  return url.replace('http', 'ws');
}

function open(url: string): Promise<{ ws: WebSocket; inbox: Inbox<{ text: string; binary: boolean }>; closed: Promise<number> }> {
  const ws = new WebSocket(url);
  const inbox = new Inbox<{ text: string; binary: boolean }>();
  ws.on('message', (data, binary) => inbox.push({ text: String(data), binary }));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, inbox, closed }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(String(res.statusCode))));
    ws.once('error', reject);
  });
}

t.test('messages pass both ways and the owner closes with its own code', async (t) => {
  const owner = await startOwner(t);
  const front = await startFront(t, owner.url);
  const { ws, inbox, closed } = await open(`${front}/ws/session/x`);
  ws.send('hello');
  ws.send(Buffer.from([1, 2, 3]));
  t.same(await inbox.next(), { text: 'hello', binary: false });
  t.same(await inbox.next(), { text: '\u0001\u0002\u0003', binary: true });
  ws.send('bye');
  t.equal(await closed, 4321, "the owner's close code reaches the client");
  t.same(owner.seen, ['127.0.0.1'], 'the owner believes the address the front vouched for');
});

t.test("the owner's refusal reaches the client unchanged", async (t) => {
  const owner = await startOwner(t);
  const front = await startFront(t, owner.url);
  const ws = new WebSocket(`${front}/refuse`);
  const answer = await new Promise<{ status: number; body: string }>((resolve) =>
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += String(chunk)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }),
  );
  t.same(answer, { status: 403, body: '{"detail":"Forbidden here"}' });
});

t.test('a client closing ends the connection to the owner', async (t) => {
  const owner = await startOwner(t);
  const front = await startFront(t, owner.url);
  const { ws, inbox } = await open(`${front}/ws/session/x`);
  ws.send('ping');
  await inbox.next();
  ws.terminate();
  t.equal(await owner.ownerSideClosed.next(), 1006, "the owner's side ends too (abnormally: no close frame was sent)");
});

t.test('an owner nobody can reach: 503, try again', async (t) => {
  const closedServer = createServer();
  const deadUrl = await listen(closedServer);
  await new Promise((resolve) => closedServer.close(resolve));
  const front = await startFront(t, deadUrl);
  await t.rejects(open(`${front}/ws/session/x`), /503/);
});

t.test('a proof made with another key, or for another address, is not believed', async (t) => {
  const other = forwardedHeaders(forwardingKey(Buffer.alloc(64, 8)), '10.0.0.9');
  const mine = forwardedHeaders(key, '10.0.0.9');
  const asRequest = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
  t.equal(forwardedAddress(asRequest(mine), key), '10.0.0.9');
  t.equal(forwardedAddress(asRequest(other), key), undefined);
  t.equal(forwardedAddress(asRequest({ ...mine, 'x-rac-node-forwarded-for': '10.0.0.10' }), key), undefined);
  t.equal(forwardedAddress(asRequest({}), key), undefined);
});
