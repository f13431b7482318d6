// JSON schemas of request bodies (validated by fastify's Ajv, without type coercion), and the
// formatting of a validation failure into a `detail` that names the field.
import type { FastifySchemaValidationError } from 'fastify/types/schema.js';
import { Errors } from './errors.js';
import { MIN_PASSWORD_LENGTH } from './passwords.js';
import { SECURITY_TYPES } from './smtp-settings.js';
import { ROLES } from './users.js';

const email = { type: 'string', format: 'email', maxLength: 254 } as const;
const nullableString = (maxLength: number) => ({ type: ['string', 'null'], maxLength }) as const;
const password = { type: 'string', minLength: MIN_PASSWORD_LENGTH, maxLength: 1024 } as const;
const maxSessions = { type: 'integer', minimum: 0, maximum: 10_000 } as const;
const role = { type: 'string', enum: ROLES } as const;

export const loginBody = {
  type: 'object',
  required: ['email', 'password'],
  properties: { email: { type: 'string', maxLength: 254 }, password: { type: 'string', maxLength: 1024 } },
} as const;

export const createUserBody = {
  type: 'object',
  required: ['email', 'password'],
  properties: {
    email,
    password,
    full_name: nullableString(200),
    role,
    max_sessions: maxSessions,
    // Mail the new user where and how to log in (never their password), when SMTP is configured.
    send_welcome: { type: 'boolean' },
  },
} as const;

export const updateUserBody = {
  type: 'object',
  properties: {
    is_active: { type: 'boolean' },
    max_sessions: maxSessions,
    full_name: nullableString(200),
    role,
    password,
  },
} as const;

export const smtpConfigBody = {
  type: 'object',
  required: ['smtp_host', 'smtp_port', 'security_type', 'from_email'],
  properties: {
    smtp_host: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[^\\s/]+$' },
    smtp_port: { type: 'integer', minimum: 1, maximum: 65535 },
    security_type: { type: 'string', enum: SECURITY_TYPES },
    username: nullableString(254),
    password: nullableString(1024),
    from_email: email,
    require_auth: { type: 'boolean' },
  },
} as const;

export const smtpTestBody = {
  type: 'object',
  required: ['to'],
  properties: { to: email },
} as const;

export const createSessionBody = {
  type: ['object', 'null'],
  properties: {
    customer_name: nullableString(200),
    // An empty string means "no email", as from a form left blank.
    customer_email: { anyOf: [{ type: 'null' }, { type: 'string', maxLength: 0 }, email] },
    // The reference Windows client's clear stream is accepted only when this is true.
    allow_unencrypted_agent: { type: 'boolean' },
  },
} as const;

/** Ajv errors → one 400 whose detail names the field. */
export function formatValidationError(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const error = errors.find((e) => e.keyword === 'anyOf') ?? errors[0];
  if (!error) return Errors.validation(`${dataVar}: invalid`);
  const params = error.params as Record<string, unknown>;
  const path = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (error.keyword === 'required') return Errors.validation(`${params.missingProperty}: field required`);
  const field = path || dataVar;
  switch (error.keyword) {
    case 'type':
      return Errors.validation(`${field}: must be ${String(params.type).replace(',', ' or ')}`);
    case 'enum':
      return Errors.validation(`${field}: must be one of ${(params.allowedValues as string[]).join(', ')}`);
    case 'format':
      return Errors.validation(`${field}: must be a valid ${params.format === 'email' ? 'email address' : params.format}`);
    case 'anyOf':
      return Errors.validation(`${field}: must be a valid email address, or null`);
    default:
      return Errors.validation(`${field}: ${error.message ?? 'invalid'}`);
  }
}
