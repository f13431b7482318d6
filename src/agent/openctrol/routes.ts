// The Openctrol REST endpoints (the Home Assistant integration's API, its desktop-lease calls included).
// Responses are snake_case; bodies are normalized by body.ts first.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AudioError, type AudioBackend } from './audio/backend.js';
import { type DesktopEngine, DesktopUnavailableError } from './desktop-engine.js';
import { formatCommand } from './power.js';
import { sendMagicPacket } from './wake-on-lan.js';
import { type Body, normalizeBody, optionalBoolean, optionalVolume, requiredString } from './body.js';
import type { OpenctrolContext } from './context.js';
import { DEFAULT_TTL_SECONDS } from './desktop-leases.js';
import { Errors } from './errors.js';

const body = (request: FastifyRequest): Body => normalizeBody(request.body);

export function openctrolRoutes(app: FastifyInstance, ctx: OpenctrolContext): void {
  app.get('/api/v1/health', async () => {
    const remoteDesktop = ctx.engine
      ? await ctx.engine.health()
      : { is_running: false, last_frame_at: null, state: 'unavailable', desktop_state: 'unknown', degraded: true };
    return {
      agent_id: ctx.agentId,
      version: ctx.version,
      uptime_seconds: Math.floor((Date.now() - ctx.startedAt) / 1000),
      remote_desktop: remoteDesktop,
      active_sessions: ctx.leases.activeCount,
    };
  });

  app.post('/api/v1/power', async (request) => {
    const b = body(request);
    const action = typeof b.action === 'string' ? b.action.toLowerCase() : b.action;
    if (b.force !== undefined && typeof b.force !== 'boolean') throw Errors.badRequest('force: expected true or false');
    if (action === 'wol') {
      if (!ctx.wol) throw Errors.wolNotConfigured();
      try {
        await sendMagicPacket(ctx.wol);
      } catch (err) {
        throw Errors.powerFailed(`could not send the Wake-on-LAN packet: ${(err as Error).message}`);
      }
      ctx.log(`power: Wake-on-LAN packet sent to ${ctx.wol.address}:${ctx.wol.port}`);
      return { status: 'ok', action };
    }
    if (action !== 'restart' && action !== 'shutdown') throw Errors.invalidAction(b.action);
    if (!ctx.power.available) throw Errors.powerUnavailable(`no ${action} command on ${process.platform}`);
    try {
      const command = await ctx.power.run(action);
      ctx.log(`power: ${action} requested by ${request.ip} (${formatCommand(command)})`);
    } catch (err) {
      throw Errors.powerFailed((err as Error).message);
    }
    return { status: 'ok', action };
  });

  app.get('/api/v1/audio/status', async () => {
    const status = await audioCall(ctx, (audio) => audio.status());
    return {
      master: status.master,
      devices: status.devices.map((d) => ({ id: d.id, name: d.name, is_default: d.isDefault, volume: d.volume, muted: d.muted })),
    };
  });

  app.post('/api/v1/audio/master', async (request) => {
    const b = body(request);
    const change = { volume: optionalVolume(b), muted: optionalBoolean(b, 'muted') };
    await audioCall(ctx, (audio) => audio.setMaster(change));
    return { status: 'ok' };
  });

  app.post('/api/v1/audio/device', async (request) => {
    const b = body(request);
    const id = requiredString(b, 'device_id', Errors.invalidDeviceId, 1024);
    const change = { volume: optionalVolume(b), muted: optionalBoolean(b, 'muted') };
    await audioCall(ctx, (audio) => audio.setDevice(id, change));
    return { status: 'ok' };
  });

  app.post('/api/v1/audio/default', async (request) => {
    const id = requiredString(body(request), 'device_id', Errors.invalidDeviceId, 1024);
    await audioCall(ctx, (audio) => audio.setDefault(id));
    return { status: 'ok' };
  });

  app.get('/api/v1/rd/monitors', async () => {
    const engine = requireEngine(ctx);
    const monitors = await desktopCall(() => engine.monitors());
    return {
      monitors: monitors.map((m) => ({
        id: m.id,
        name: m.name,
        resolution: `${m.width}x${m.height}`,
        width: m.width,
        height: m.height,
        is_primary: m.isPrimary,
      })),
      current_monitor_id: engine.currentMonitorId ?? null,
    };
  });

  app.post('/api/v1/rd/monitor', async (request) => {
    const id = requiredString(body(request), 'monitor_id', Errors.invalidMonitorId, 64);
    const engine = requireEngine(ctx);
    if (!(await desktopCall(() => engine.selectMonitor(id)))) throw Errors.monitorNotFound(id);
    return { status: 'ok', monitor_id: id };
  });

  app.post('/api/v1/sessions/desktop', async (request) => {
    const b = body(request);
    if (b.ha_id !== undefined && b.ha_id !== null && (typeof b.ha_id !== 'string' || b.ha_id.length > 256)) {
      throw Errors.badRequest('ha_id: expected a string');
    }
    const ttl = b.ttl_seconds ?? DEFAULT_TTL_SECONDS;
    if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0)
      throw Errors.badRequest('ttl_seconds: expected a number of seconds (60–3600)');
    const engine = requireEngine(ctx);
    await desktopCall(() => engine.monitors(5000)); // no lease for a display that does not answer
    const lease = ctx.leases.create((b.ha_id as string | undefined) ?? null, ttl);
    const scheme = request.protocol === 'https' ? 'wss' : 'ws';
    const host = request.headers.host ?? `${request.hostname}`;
    const query = new URLSearchParams({ sess: lease.id, token: lease.token });
    ctx.log(`desktop session ${lease.id} created for ${lease.haId ?? request.ip}, until ${lease.expiresAt.toISOString()}`);
    return {
      session_id: lease.id,
      websocket_url: `${scheme}://${host}/ws/desktop?${query}`,
      expires_at: lease.expiresAt.toISOString(),
    };
  });

  app.post<{ Params: { id: string } }>('/api/v1/sessions/desktop/:id/end', async (request) => {
    if (!ctx.leases.end(request.params.id)) throw Errors.leaseNotFound(request.params.id);
    ctx.log(`desktop session ${request.params.id} ended`);
    return { status: 'ok', session_id: request.params.id };
  });
}

function requireEngine(ctx: OpenctrolContext): DesktopEngine {
  if (!ctx.engine) throw Errors.desktopUnavailable(ctx.engineUnavailableReason);
  return ctx.engine;
}

async function desktopCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DesktopUnavailableError) throw Errors.desktopUnavailable(err.message);
    throw err;
  }
}

async function audioCall<T>(ctx: OpenctrolContext, fn: (audio: AudioBackend) => Promise<T>): Promise<T> {
  if (!ctx.audio) throw Errors.audioUnavailable(ctx.audioUnavailableReason);
  try {
    return await fn(ctx.audio);
  } catch (err) {
    if (!(err instanceof AudioError)) throw err;
    if (err.kind === 'device_not_found') throw Errors.deviceNotFound(err.message.replace(/^Audio device not found: /, ''));
    if (err.kind === 'not_supported') throw Errors.notSupported(err.message);
    throw Errors.audioUnavailable(err.message);
  }
}
