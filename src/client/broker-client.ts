// A typed client for the broker's REST API (under /api; /api/openapi.json describes it), over undici.
// Used by the CLI commands, the viewer and the agent. Every failure is one of two errors:
// BrokerUnreachableError (no HTTP answer) or BrokerApiError (an HTTP answer that is not 2xx).
import { Agent, type Dispatcher, request } from 'undici';
import type {
  AuditPage,
  AuditQuery,
  CreatedSession,
  LoginResponse,
  NewUser,
  Session,
  SessionInfo,
  SessionRequest,
  SmtpConfig,
  SmtpConfigInput,
  User,
  UserChanges,
} from '../protocol/broker-api.js';
import { type TlsTrust, describeCertificateFailure, tlsConnectOptions } from '../shared/tls-trust.js';
import { normalizeServerUrl } from './server-url.js';

export { normalizeServerUrl };

export * from '../protocol/broker-api.js';

export const DEFAULT_TIMEOUT_MS = 15_000;

/** The broker answered with a status other than 2xx; `detail` is its `{"detail"}` text. */
export class BrokerApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly method: string,
    readonly url: string,
    /** The broker's machine-readable error code (X-Rac-Error header), when it sent one. */
    readonly code: string | undefined,
  ) {
    super(detail);
    this.name = 'BrokerApiError';
  }
}

/** No HTTP answer at all: refused, unknown host, TLS failure, timeout. */
export class BrokerUnreachableError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`cannot reach the broker at ${url}: ${reason}`, options);
    this.name = 'BrokerUnreachableError';
  }
}

/** An HTTPS broker whose certificate did not verify: the message names the host, the reason and the fix. */
export class BrokerCertificateError extends BrokerUnreachableError {
  constructor(url: string, message: string, options?: ErrorOptions) {
    super(url, message, options);
    this.message = message;
    this.name = 'BrokerCertificateError';
  }
}

export interface BrokerClientOptions {
  /** The broker's base URL, e.g. https://rac.example.com (a trailing /api is accepted). */
  server: string;
  token?: string;
  /** Connect, response-headers and body timeout, each. */
  timeoutMs?: number;
  /** Extra CAs for an HTTPS broker (--ca-file); the system's CAs are always trusted. */
  tls?: TlsTrust;
}

export class BrokerClient {
  readonly server: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly dispatcher: Agent;
  readonly tls: TlsTrust;

  constructor(options: BrokerClientOptions) {
    this.server = normalizeServerUrl(options.server);
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.tls = options.tls ?? {};
    this.dispatcher = new Agent({ connect: { timeout: this.timeoutMs, ...tlsConnectOptions(this.tls) }, keepAliveTimeout: 1_000 });
  }

  /** The session WebSocket URL for a code (/ws/session/{code}, docs/protocol.md). */
  sessionWebSocketUrl(code: string): string {
    return `${this.server.replace(/^http/, 'ws')}/ws/session/${encodeURIComponent(code)}`;
  }

  /** Frees the connection pool, so a short-lived process can exit at once. */
  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  health(): Promise<{ status: string }> {
    return this.call('GET', '/health', { auth: false });
  }

  login(email: string, password: string): Promise<LoginResponse> {
    return this.call('POST', '/api/auth/login', { auth: false, body: { email, password } });
  }

  createSession(input: SessionRequest = {}): Promise<CreatedSession> {
    return this.call('POST', '/api/sessions', { body: input });
  }

  listSessions(): Promise<Session[]> {
    return this.call('GET', '/api/sessions');
  }

  /** `already_closed` (our addition) is true when the session was closed before this call. */
  closeSession(id: number): Promise<{ message: string; already_closed?: boolean }> {
    return this.call('DELETE', `/api/sessions/${id}`);
  }

  /** Unauthenticated: what the customer's client asks. */
  sessionInfo(code: string): Promise<SessionInfo> {
    return this.call('GET', `/api/sessions/${encodeURIComponent(code)}/info`, { auth: false });
  }

  listUsers(): Promise<User[]> {
    return this.call('GET', '/api/users');
  }

  createUser(input: NewUser): Promise<User> {
    return this.call('POST', '/api/users', { body: input });
  }

  updateUser(id: number, changes: UserChanges): Promise<User> {
    return this.call('PATCH', `/api/users/${id}`, { body: changes });
  }

  /** A user by id ("7") or email; a BrokerApiError 404 when there is none. */
  async findUser(ref: string): Promise<User> {
    const users = await this.listUsers();
    const wanted = ref.trim();
    const user = /^\d+$/.test(wanted)
      ? users.find((u) => u.id === Number(wanted))
      : users.find((u) => u.email.toLowerCase() === wanted.toLowerCase());
    if (!user) throw new BrokerApiError(404, `User ${wanted} not found`, 'GET', `${this.server}/api/users`, 'RAC_USER_NOT_FOUND');
    return user;
  }

  getSmtpConfig(): Promise<SmtpConfig> {
    return this.call('GET', '/api/smtp/config');
  }

  setSmtpConfig(input: SmtpConfigInput): Promise<{ message: string }> {
    return this.call('POST', '/api/smtp/config', { body: input });
  }

  /** Sends a test mail with the stored settings: 200 {message}, or 502 {detail} with the SMTP server's answer. */
  testSmtp(to: string): Promise<{ message: string }> {
    return this.call('POST', '/api/smtp/test', { body: { to } });
  }

  /** The audit log (admin only), newest first. */
  audit(query: AuditQuery = {}): Promise<AuditPage> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
    const search = params.size ? `?${params}` : '';
    return this.call('GET', `/api/audit${search}`);
  }

  /** Admin only: an online backup of the database and keys (a tar archive, secrets included). */
  backup(): Promise<Buffer> {
    return this.call('POST', '/api/admin/backup', { body: {}, binary: true });
  }

  /** `binary`: a 2xx body is returned as bytes, not parsed as JSON. */
  private async call<T>(
    method: Dispatcher.HttpMethod,
    path: string,
    options: { auth?: boolean; body?: unknown; binary?: boolean } = {},
  ): Promise<T> {
    const url = this.server + path;
    const headers: Record<string, string> = { accept: options.binary ? '*/*' : 'application/json' };
    if (options.auth !== false && this.token) headers.authorization = `Bearer ${this.token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    let response: Dispatcher.ResponseData;
    let bytes: Buffer;
    try {
      response = await request(url, {
        method,
        headers,
        body,
        dispatcher: this.dispatcher,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      bytes = Buffer.from(await response.body.arrayBuffer());
    } catch (err) {
      const certificate = describeCertificateFailure(err, this.server, this.tls);
      if (certificate) throw new BrokerCertificateError(this.server, certificate, { cause: err });
      throw new BrokerUnreachableError(this.server, describeNetworkError(err, this.timeoutMs, this.server), { cause: err });
    }
    if (options.binary && response.statusCode >= 200 && response.statusCode < 300) return bytes as T;
    const text = bytes.toString('utf8');
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (response.statusCode >= 200 && response.statusCode < 300) {
      if (parsed === undefined) {
        throw new BrokerApiError(
          response.statusCode,
          `expected JSON from ${method} ${url}, got: ${text.slice(0, 80)}`,
          method,
          url,
          undefined,
        );
      }
      return parsed as T;
    }
    const code = response.headers['x-rac-error'];
    const detail =
      typeof (parsed as { detail?: unknown } | undefined)?.detail === 'string'
        ? (parsed as { detail: string }).detail
        : `HTTP ${response.statusCode} from ${method} ${url}${text && parsed === undefined ? `: ${text.slice(0, 80)}` : ''}`;
    throw new BrokerApiError(response.statusCode, detail, method, url, typeof code === 'string' ? code : undefined);
  }
}

function describeNetworkError(err: unknown, timeoutMs: number, server: string): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  switch (code) {
    // OpenSSL's reply to a plain-HTTP answer (its two-line record-layer error means nothing to a person).
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_PACKET_LENGTH_TOO_LONG':
      return `the broker does not speak HTTPS on that port (try ${server.replace(/^https:/, 'http:')})`;
    case 'ECONNREFUSED':
      return 'connection refused (is `rac serve` running there?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unknown host name';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'the connection was closed before an answer';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `no connection within ${timeoutMs / 1000} s`;
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return `no answer within ${timeoutMs / 1000} s`;
    default:
      return e.message ?? e.cause?.message ?? String(err);
  }
}
