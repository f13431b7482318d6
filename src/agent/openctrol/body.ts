// Request bodies arrive in snake_case, camelCase or PascalCase (device_id, deviceId, DeviceId):
// field names are normalized to snake_case, then read with small typed getters that throw the
// spec's 400s.
import { Errors } from './errors.js';

export type Body = Record<string, unknown>;

/** "deviceId" / "DeviceId" / "device_id" → "device_id" */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .replace(/[-\s]+/g, '_')
    .toLowerCase();
}

/** A JSON object with snake_case keys; anything else (array, string, null) is a 400. */
export function normalizeBody(body: unknown, allowEmpty = true): Body {
  // undefined = no body at all (fine for calls whose fields are optional); JSON null is not an object.
  if (body === undefined) {
    if (allowEmpty) return {};
    throw Errors.badRequest('body: expected a JSON object');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw Errors.badRequest('body: expected a JSON object');
  const out: Body = {};
  for (const [key, value] of Object.entries(body as Body)) out[snakeCase(key)] = value;
  return out;
}

/** 0–100, floats accepted (rounded); undefined when absent. */
export function optionalVolume(body: Body, field = 'volume'): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) throw Errors.invalidVolume(field);
  return Math.round(value);
}

export function optionalBoolean(body: Body, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw Errors.invalidMuted(field);
  return value;
}

export function requiredString(body: Body, field: string, error: () => Error, maxLength = 256): string {
  const value = body[field];
  if (typeof value !== 'string' || value.trim() === '' || value.length > maxLength) throw error();
  return value;
}
