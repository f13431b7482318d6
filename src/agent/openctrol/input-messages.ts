// The input messages of the two WebSockets, parsed and checked before anything touches the desktop:
// /ws/desktop (the Openctrol desktop protocol, man/rac-agent.1: pointer_move, pointer_button, pointer_wheel, key, text, monitor_select)
// and the legacy /api/v1/rd/session (spec: pointer move/click/scroll, keyboard combos).
// A message that does not parse yields an error text; it never throws.
import type { MouseButton } from '../platform/input-injector.js';
import { snakeCase } from './body.js';

export type DesktopInput =
  | { type: 'pointer_move'; absolute: false; dx: number; dy: number }
  | { type: 'pointer_move'; absolute: true; x: number; y: number }
  | { type: 'pointer_button'; button: MouseButton; down: boolean }
  | { type: 'pointer_wheel'; deltaX: number; deltaY: number }
  | { type: 'key'; keyCode: number; down: boolean; ctrl: boolean; alt: boolean; shift: boolean; win: boolean }
  | { type: 'text'; text: string }
  | { type: 'monitor_select'; monitorId: string };

export type LegacyInput =
  | { type: 'pointer_move'; dx: number; dy: number }
  | { type: 'pointer_click'; button: MouseButton }
  | { type: 'pointer_scroll'; dx: number; dy: number }
  | { type: 'keyboard'; keys: string[] };

export type Parsed<T> = { ok: true; input: T } | { ok: false; error: string };

const MAX_TEXT = 4096;
const MAX_DELTA = 100_000;

/** JSON text → an object with snake_case keys and a snake_case `type`, or an error. */
function parseObject(text: string): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'Invalid message format: not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'Invalid message format: expected a JSON object';
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[snakeCase(k)] = v;
  if (typeof out.type !== 'string') return 'Invalid message format: "type" must be a string';
  out.type = snakeCase(out.type);
  return out;
}

const isNumber = (v: unknown, limit = MAX_DELTA): v is number => typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= limit;
const num = (v: unknown, fallback = 0): number | undefined => (v === undefined || v === null ? fallback : isNumber(v) ? v : undefined);

const BUTTONS: Record<string, MouseButton> = { left: 'left', right: 'right', middle: 'middle', '1': 'left', '2': 'right', '3': 'middle' };
const button = (v: unknown): MouseButton | undefined =>
  typeof v === 'string' || typeof v === 'number' ? BUTTONS[String(v).toLowerCase()] : undefined;

function downUp(v: unknown): boolean | undefined {
  if (v === 'down' || v === 'press' || v === 'pressed' || v === true) return true;
  if (v === 'up' || v === 'release' || v === 'released' || v === false) return false;
  return undefined;
}

export function parseDesktopInput(text: string): Parsed<DesktopInput> {
  const m = parseObject(text);
  if (typeof m === 'string') return { ok: false, error: m };
  const fail = (error: string) => ({ ok: false as const, error });
  switch (m.type) {
    case 'pointer_move': {
      if (m.absolute === true) {
        if (!isNumber(m.x, 65535) || !isNumber(m.y, 65535) || (m.x as number) < 0 || (m.y as number) < 0)
          return fail('pointer_move: absolute x and y must be 0–65535');
        return { ok: true, input: { type: 'pointer_move', absolute: true, x: m.x as number, y: m.y as number } };
      }
      const dx = num(m.dx);
      const dy = num(m.dy);
      if (dx === undefined || dy === undefined) return fail('pointer_move: dx and dy must be numbers');
      return { ok: true, input: { type: 'pointer_move', absolute: false, dx, dy } };
    }
    case 'pointer_button': {
      const b = button(m.button);
      const down = downUp(m.action);
      if (!b) return fail('pointer_button: button must be "left", "right" or "middle"');
      if (down === undefined) return fail('pointer_button: action must be "down" or "up"');
      return { ok: true, input: { type: 'pointer_button', button: b, down } };
    }
    case 'pointer_wheel': {
      const deltaX = num(m.delta_x);
      const deltaY = num(m.delta_y);
      if (deltaX === undefined || deltaY === undefined) return fail('pointer_wheel: delta_x and delta_y must be numbers');
      return { ok: true, input: { type: 'pointer_wheel', deltaX, deltaY } };
    }
    case 'key': {
      const down = downUp(m.action);
      if (!Number.isInteger(m.key_code) || (m.key_code as number) < 0 || (m.key_code as number) > 0xff)
        return fail('key: key_code must be a Windows virtual-key code 0–255');
      if (down === undefined) return fail('key: action must be "down" or "up"');
      const flag = (v: unknown) => v === true;
      return {
        ok: true,
        input: {
          type: 'key',
          keyCode: m.key_code as number,
          down,
          ctrl: flag(m.ctrl),
          alt: flag(m.alt),
          shift: flag(m.shift),
          win: flag(m.win),
        },
      };
    }
    case 'text':
      if (typeof m.text !== 'string' || m.text.length > MAX_TEXT)
        return fail(`text: text must be a string of at most ${MAX_TEXT} characters`);
      return { ok: true, input: { type: 'text', text: m.text } };
    case 'monitor_select':
      if (typeof m.monitor_id !== 'string' || m.monitor_id === '' || m.monitor_id.length > 64)
        return fail('monitor_select: monitor_id must be a string such as "DISPLAY1"');
      return { ok: true, input: { type: 'monitor_select', monitorId: m.monitor_id } };
    default:
      return fail(`Unknown message type: ${JSON.stringify(m.type).slice(0, 64)}`);
  }
}

export function parseLegacyInput(text: string): Parsed<LegacyInput> {
  const m = parseObject(text);
  const invalid = { ok: false as const, error: 'Invalid message format' };
  if (typeof m === 'string') return invalid;
  if (m.type === 'pointer') {
    const event = typeof m.event === 'string' ? m.event.toLowerCase() : undefined;
    if (event === 'move' || event === 'scroll') {
      const dx = num(m.dx);
      const dy = num(m.dy);
      if (dx === undefined || dy === undefined) return invalid;
      return { ok: true, input: { type: event === 'move' ? 'pointer_move' : 'pointer_scroll', dx, dy } };
    }
    if (event === 'click') {
      const b = button(m.button ?? 'left');
      return b ? { ok: true, input: { type: 'pointer_click', button: b } } : invalid;
    }
    return invalid;
  }
  if (m.type === 'keyboard') {
    if (!Array.isArray(m.keys) || m.keys.length === 0 || m.keys.length > 8 || !m.keys.every((k) => typeof k === 'string' && k.length <= 32))
      return invalid;
    return { ok: true, input: { type: 'keyboard', keys: m.keys as string[] } };
  }
  return invalid;
}

/** At most `perSecond` events in any one-second window; the rest are dropped. */
export class EventRateLimiter {
  private windowStart = 0;
  private count = 0;
  dropped = 0;

  constructor(
    private readonly perSecond = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** `cost`: how many events the message stands for (a text message is one per character). */
  allow(cost = 1): boolean {
    const t = this.now();
    if (t - this.windowStart >= 1000) {
      this.windowStart = t;
      this.count = 0;
    }
    if (this.count + cost > this.perSecond) {
      this.dropped++;
      return false;
    }
    this.count += cost;
    return true;
  }
}
