// WebSocket heartbeat: a network that vanishes without a FIN (a closed laptop, a dropped NAT entry)
// leaves a socket open for minutes, so every interval each tracked socket is pinged, and one that
// sent nothing at all (no pong, no message) since the previous ping is terminated.
import type { WebSocket, WebSocketServer } from 'ws';

export class Heartbeat {
  private readonly heard = new WeakSet<WebSocket>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly wss: WebSocketServer,
    intervalMs: number,
  ) {
    this.timer = setInterval(() => this.beat(), intervalMs).unref();
  }

  /** Starts watching a socket accepted by the server. */
  track(ws: WebSocket): void {
    const heard = () => this.heard.add(ws);
    heard();
    ws.on('pong', heard);
    ws.on('message', heard);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private beat(): void {
    for (const ws of this.wss.clients) {
      if (!this.heard.has(ws)) {
        ws.terminate();
        continue;
      }
      this.heard.delete(ws);
      ws.ping();
    }
  }
}
