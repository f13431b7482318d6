// A man in the middle between a rac program and the real broker, for tests that play a bad network
// or a hostile broker: HTTP goes to the broker as it is, and each WebSocket is spliced to the same
// path on the broker, its text messages rewritten on the way (both ways). UDP is not its business.
import { type IncomingMessage, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';

export interface RelayProxyOptions {
  /** Headers of the WebSocket upgrade passed on to the broker (the credentials), the rest dropped. */
  forwardHeaders: string[];
  /** A text message from the program to the broker, as passed on. */
  up?(text: string): string;
  /** A text message from the broker to the program, as passed on. */
  down?(text: string): string;
  /** The loopback address the proxy listens on (default 127.0.0.1). */
  listenHost?: string;
}

export interface RelayProxy {
  /** The broker's URL as the program should use it. */
  url: string;
  stop(): Promise<void>;
}

const asIs = (text: string) => text;

export async function startRelayProxy(brokerUrl: string, options: RelayProxyOptions): Promise<RelayProxy> {
  const broker = new URL(brokerUrl);
  const server = createServer((req, res) => {
    const upstream = request(
      { host: broker.hostname, port: broker.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  const sockets = new WebSocketServer({ noServer: true });
  const pairs = new Set<WebSocket>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.handleUpgrade(req, socket, head, (client) => {
      const upstream = new WebSocket(`ws://${broker.host}${req.url}`, { headers: forwardedHeaders(req, options.forwardHeaders) });
      pairs.add(client).add(upstream);
      splice(client, upstream, options.up ?? asIs);
      splice(upstream, client, options.down ?? asIs);
    });
  });
  const host = options.listenHost ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    async stop() {
      for (const ws of pairs) ws.terminate();
      sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The named headers the upgrade carried (string values only), or undefined when it carried none. */
function forwardedHeaders(req: IncomingMessage, names: string[]): Record<string, string> | undefined {
  const entries = names.flatMap((name) => {
    const value = req.headers[name];
    return typeof value === 'string' ? [[name, value] as const] : [];
  });
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/** Passes `from`'s text messages to `to` (held until `to` is open), rewritten; a close closes both. */
function splice(from: WebSocket, to: WebSocket, rewrite: (text: string) => string): void {
  const held: string[] = [];
  to.on('open', () => {
    for (const text of held.splice(0)) to.send(text);
  });
  from.on('message', (data, isBinary) => {
    if (isBinary) return;
    const text = rewrite(String(data));
    if (to.readyState === WebSocket.OPEN) to.send(text);
    else held.push(text);
  });
  from.on('error', () => undefined);
  from.on('close', (code) => {
    const closable = code >= 3000 && code <= 4999 ? code : 1000;
    if (to.readyState === WebSocket.OPEN) to.close(closable);
    else if (to.readyState === WebSocket.CONNECTING) to.terminate();
  });
}
