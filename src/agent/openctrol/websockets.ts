// The two WebSockets on the Openctrol port: /ws/desktop (under a desktop lease: hello, OFRA frames,
// input) and the legacy /api/v1/rd/session (input only, API key). Authentication happens on the
// upgrade; a refused upgrade gets a plain HTTP answer with the spec's JSON error.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import type { DesktopEngine, EncodedFrame } from './desktop-engine.js';
import { Heartbeat } from '../../http-kit/heartbeat.js';
import { refuseUpgrade } from '../../http-kit/upgrade-refusal.js';
import { AUTH_SCOPE, presentedKey } from './auth.js';
import type { OpenctrolContext } from './context.js';
import type { DesktopLease } from './desktop-leases.js';
import { Errors, OpenctrolError, errorBody } from './errors.js';
import { EventRateLimiter, type Parsed, parseDesktopInput, parseLegacyInput } from './input-messages.js';

export const MAX_MESSAGE_BYTES = 64 * 1024;
export const MAX_EVENTS_PER_SECOND = 1000;
/** Frames are skipped, not queued, while a slow client has this much unsent. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
export const OFRA_FORMAT_JPEG = 1;

/** ASCII "OFRA", int32 LE width, int32 LE height, int32 LE format (1 = JPEG), then the JPEG bytes. */
export function ofraFrame(frame: { width: number; height: number; jpeg: Buffer }): Buffer {
  const header = Buffer.alloc(16);
  header.write('OFRA', 0, 'ascii');
  header.writeInt32LE(frame.width, 4);
  header.writeInt32LE(frame.height, 8);
  header.writeInt32LE(OFRA_FORMAT_JPEG, 12);
  return Buffer.concat([header, frame.jpeg]);
}

/** A peer that has not answered a ping within this long is dropped (and its held keys released). */
export const DEFAULT_HEARTBEAT_MS = 15_000;

export function attachWebSockets(server: Server, ctx: OpenctrolContext, heartbeatMs = DEFAULT_HEARTBEAT_MS): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const heartbeat = new Heartbeat(wss, heartbeatMs);
  wss.on('connection', (ws) => heartbeat.track(ws));
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    try {
      const url = new URL(request.url ?? '/', 'http://agent');
      const address = request.socket.remoteAddress ?? 'unknown';
      if (url.pathname === '/ws/desktop') {
        const lease = authenticateDesktop(ctx, request, url, address);
        const engine = ctx.engine;
        if (!engine) throw Errors.desktopUnavailable(ctx.engineUnavailableReason);
        wss.handleUpgrade(request, socket, head, (ws) => {
          wss.emit('connection', ws, request);
          void desktopConnection(ctx, engine, lease, ws);
        });
      } else if (url.pathname === '/api/v1/rd/session') {
        ctx.auth.verify(address, presentedKey(request.headers, url.searchParams));
        const engine = ctx.engine;
        if (!engine) throw Errors.desktopUnavailable(ctx.engineUnavailableReason);
        wss.handleUpgrade(request, socket, head, (ws) => {
          wss.emit('connection', ws, request);
          void legacyConnection(ctx, engine, ws);
        });
      } else {
        throw Errors.routeNotFound('GET', url.pathname);
      }
    } catch (err) {
      const error = err instanceof OpenctrolError ? err : Errors.internal();
      refuseUpgrade(socket, error.statusCode, errorBody(error), error.headers);
    }
  });
  return {
    close() {
      heartbeat.stop();
      for (const ws of wss.clients) ws.close(1001, 'Agent shutting down');
      wss.close();
    },
  };
}

/** A live lease whose token matches (or the API key, for clients that hold it). */
function authenticateDesktop(ctx: OpenctrolContext, request: IncomingMessage, url: URL, address: string): DesktopLease {
  ctx.auth.throttle.check(AUTH_SCOPE, address);
  const id = url.searchParams.get('sess') ?? url.searchParams.get('session_id');
  const byToken = ctx.leases.authenticate(id, url.searchParams.get('token'));
  if (byToken) return byToken;
  const key = presentedKey(request.headers, url.searchParams);
  const lease = id ? ctx.leases.get(id) : undefined;
  if (lease && key !== undefined) {
    ctx.auth.verify(address, key);
    return lease;
  }
  ctx.auth.throttle.recordMiss(AUTH_SCOPE, address);
  throw Errors.unauthorized();
}

const sendJson = (ws: WebSocket, message: object) => {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
};

/**
 * Text messages only, within the rate cap, once the display answered; each is parsed and the valid
 * ones handed to `handle`, errors answered in place. `handle` may charge more events for one
 * message (`charge(n)`, false when over the cap).
 */
function inputLoop<T>(
  ws: WebSocket,
  ready: Promise<unknown>,
  parse: (text: string) => Parsed<T>,
  handle: (input: T, charge: (events: number) => boolean) => Promise<void> | void,
): void {
  const limiter = new EventRateLimiter(MAX_EVENTS_PER_SECOND);
  let warnedAt = 0;
  let queue = Promise.resolve();
  const charge = (events: number) => {
    if (limiter.allow(events)) return true;
    if (Date.now() - warnedAt >= 1000) {
      warnedAt = Date.now();
      sendJson(ws, wsError(`Rate limit: more than ${MAX_EVENTS_PER_SECOND} input events per second, extra events dropped`));
    }
    return false;
  };
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) return sendJson(ws, wsError('Invalid message format: send JSON text frames'));
    if (!charge(1)) return;
    const text = data.toString();
    // One at a time, in order: a click must not overtake the move before it.
    queue = queue.then(async () => {
      try {
        if (!(await ready)) return;
        const parsed = parse(text);
        if (!parsed.ok) return sendJson(ws, wsError(parsed.error));
        await handle(parsed.input, charge);
      } catch (err) {
        sendJson(ws, wsError(`Input failed: ${(err as Error).message}`));
      }
    });
  });
}

/** Waits for the display before anything touches robotjs (it crashes without one); null and a close when absent. */
function displayReady(engine: DesktopEngine, ws: WebSocket): Promise<Awaited<ReturnType<DesktopEngine['monitors']>> | null> {
  return engine.monitors().catch((err: Error) => {
    sendJson(ws, wsError(`Remote desktop engine not available: ${err.message}`));
    ws.close(1011, 'No display');
    return null;
  });
}

const wsError = (message: string) => ({ type: 'error', message });

async function desktopConnection(ctx: OpenctrolContext, engine: DesktopEngine, lease: DesktopLease, ws: WebSocket): Promise<void> {
  let unsubscribe = () => {};
  const stopOnEnd = ctx.leases.onEnd(lease.id, () => ws.close(1000, 'Session ended'));
  ws.on('close', () => {
    unsubscribe();
    stopOnEnd();
    engine.input.releaseAll();
  });
  ws.on('error', () => ws.terminate());
  const ready = displayReady(engine, ws);
  inputLoop(ws, ready, parseDesktopInput, async (m, charge) => {
    const input = engine.input;
    switch (m.type) {
      case 'pointer_move':
        if (m.absolute) input.moveNormalized(m.x, m.y);
        else input.moveBy(m.dx, m.dy);
        return;
      case 'pointer_button':
        return input.button(m.button, m.down);
      case 'pointer_wheel':
        return input.wheel(m.deltaX, m.deltaY);
      case 'key':
        if (!input.virtualKey(m.keyCode, m.down, m)) sendJson(ws, wsError(`Unknown key code ${m.keyCode}: ignored`));
        return;
      case 'text':
        // One event per character beyond the message itself.
        if (charge(Math.max(0, [...m.text].length - 1))) input.text(m.text);
        return;
      case 'monitor_select': {
        if (!(await engine.selectMonitor(m.monitorId))) return sendJson(ws, wsError(`Monitor not found: ${m.monitorId}`));
        const monitor = engine.currentMonitor!;
        return sendJson(ws, { type: 'monitor_selected', monitor_id: monitor.id, width: monitor.width, height: monitor.height });
      }
    }
  });

  const monitors = await ready;
  if (!monitors) return;
  sendJson(ws, {
    type: 'hello',
    agent_id: ctx.agentId,
    session_id: lease.id,
    version: ctx.version,
    monitors: monitors.map((m) => ({ id: m.id, name: m.name, width: m.width, height: m.height, is_primary: m.isPrimary })),
    current_monitor_id: engine.currentMonitorId,
  });
  if (ws.readyState !== WebSocket.OPEN) return;
  unsubscribe = engine.subscribe((frame: EncodedFrame) => {
    if (ws.readyState === WebSocket.OPEN && ws.bufferedAmount < MAX_BUFFERED_BYTES) ws.send(ofraFrame(frame));
  });
}

async function legacyConnection(ctx: OpenctrolContext, engine: DesktopEngine, ws: WebSocket): Promise<void> {
  ws.on('close', () => engine.input.releaseAll());
  ws.on('error', () => ws.terminate());
  const ready = displayReady(engine, ws);
  inputLoop(ws, ready, parseLegacyInput, (m) => {
    const input = engine.input;
    switch (m.type) {
      case 'pointer_move':
        return input.moveBy(m.dx, m.dy);
      case 'pointer_click':
        return input.click(m.button);
      case 'pointer_scroll':
        return input.wheel(m.dx, m.dy);
      case 'keyboard':
        if (!input.combo(m.keys)) sendJson(ws, wsError(`Unknown key in ${JSON.stringify(m.keys)}`));
        return;
    }
  });
  ctx.log('rd/session: input WebSocket connected');
}
