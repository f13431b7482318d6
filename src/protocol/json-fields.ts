// Safe reading of small JSON objects off the wire (handshake, type-4 control, WebSocket signalling):
// strict UTF-8, a size cap before parsing, and field readers that report which field is wrong.

import { type ParseResult, fail, ok } from './result.js';

export type JsonObject = Record<string, unknown>;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes strict UTF-8 and parses a JSON object with a string `type`. Never throws. */
export function parseTypedJson(bytes: Uint8Array | string, maxBytes: number, what: string): ParseResult<JsonObject & { type: string }> {
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes, 'utf8') : bytes.byteLength;
  if (size === 0) return fail('EMPTY', `${what}: empty`);
  if (size > maxBytes) return fail('TOO_LARGE', `${what}: ${size} bytes, more than the ${maxBytes} allowed`);
  let text: string;
  if (typeof bytes === 'string') {
    text = bytes;
  } else {
    try {
      text = utf8.decode(bytes);
    } catch {
      return fail('BAD_UTF8', `${what}: not valid UTF-8`);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('BAD_JSON', `${what}: not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('BAD_JSON', `${what}: JSON must be an object`);
  }
  const object = value as JsonObject;
  if (typeof object.type !== 'string') return fail('MISSING_TYPE', `${what}: no string "type" field`);
  return ok(object as JsonObject & { type: string });
}

// Field readers: each returns the value or an error naming the field and what it must be.

export function stringField(
  object: JsonObject,
  field: string,
  what: string,
  limits: { min?: number; max?: number } = {},
): ParseResult<string> {
  const value = object[field];
  const min = limits.min ?? 1;
  const max = limits.max ?? 1024;
  if (typeof value !== 'string' || value.length < min || value.length > max) {
    return fail('BAD_FIELD', `${what}: "${field}" must be a string of ${min}–${max} characters`);
  }
  return ok(value);
}

/** A host name or IP address (IPv6 without brackets): letters, digits, dots, hyphens and colons only. */
export const isRelayHost = (value: unknown): value is string =>
  typeof value === 'string' && value.length >= 1 && value.length <= 253 && /^[A-Za-z0-9.:-]+$/.test(value);

export function integerField(object: JsonObject, field: string, what: string, min: number, max: number): ParseResult<number> {
  const value = object[field];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    return fail('BAD_FIELD', `${what}: "${field}" must be an integer from ${min} to ${max}`);
  }
  return ok(value);
}

export function finiteNumberField(object: JsonObject, field: string, what: string): ParseResult<number> {
  const value = object[field];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return fail('BAD_FIELD', `${what}: "${field}" must be a number`);
  }
  return ok(value);
}
