// The agent's in-process SSH server (ssh2): no TCP port, each tunnel stream the broker pairs with
// an IT member is handed in as a Duplex and gets its own ssh2 Server. The stream's token was
// verified before it got here, so authentication only checks that the SSH user is the IT member
// the token names: method "none", or "password" with the stream token itself. There are no
// passwords or authorized_keys on the customer's machine.
import { timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AuthContext, Connection } from 'ssh2';
import ssh2 from 'ssh2';

// ssh2 is CommonJS: its exports come off the default export.
const { Server } = ssh2;
import type { TunnelTokenClaims } from '../../protocol/index.js';
import { ActivityLine, type ShellUser } from './activity-log.js';
import { type PtyModule, loadNodePty } from './pty-session.js';
import { serveSession } from './session-channel.js';
import { TransferTally } from './transfer-tally.js';

export interface ShellServerOptions {
  /** The host key in OpenSSH private key format (see host-key.ts). */
  hostKey: string;
  /** A line for the customer's terminal. */
  log(line: string): void;
  /** How to get node-pty (tests pass one that fails, to check the fallback). */
  loadPty?: () => Promise<PtyModule | Error>;
}

/** What the verified stream token granted: who may log in on this stream, and the token itself. */
export interface StreamGrant {
  claims: TunnelTokenClaims;
  token: string;
}

/** Failed authentication attempts before the connection is dropped. */
const MAX_AUTH_FAILURES = 6;

export class ShellServer {
  private readonly clients = new Set<Connection>();

  constructor(private readonly options: ShellServerOptions) {}

  /** Serves one SSH connection on `stream` for the IT member the grant names. */
  accept(stream: Duplex, grant: StreamGrant): void {
    const server = new Server({ hostKeys: [this.options.hostKey] }, (client) => this.onClient(client, grant));
    server.on('error', () => undefined);
    stream.on('error', () => undefined);
    // The IT member's end is gone (Ctrl-C, a lost network): ssh2 closes the connection's channels,
    // and with them the files they hold open, only on 'close', which a tunnel stream emits once
    // both halves are done; SSH has no half-open connections, so the read side ending is the end.
    stream.once('end', () => stream.destroy());
    server.injectSocket(stream as Socket);
  }

  /** Ends every connection (the session is over). */
  close(): void {
    for (const client of this.clients) client.end();
    this.clients.clear();
  }

  get connectionCount(): number {
    return this.clients.size;
  }

  private onClient(client: Connection, grant: StreamGrant): void {
    const user: ShellUser = { email: grant.claims.email, fullName: grant.claims.fullName };
    const log = (line: string) => this.options.log(line);
    let failures = 0;
    this.clients.add(client);
    client.on('authentication', (ctx) => {
      if (authorised(ctx, grant)) return ctx.accept();
      if (++failures >= MAX_AUTH_FAILURES) return client.end();
      ctx.reject(['none', 'password']);
    });
    client.on('ready', () => {
      log(ActivityLine.connected(user, grant.claims.email));
      const loadPty = this.options.loadPty ?? loadNodePty;
      const transfers = new TransferTally();
      client.on('session', (accept) => serveSession(accept(), { user, log, loadPty, transfers }));
    });
    client.on('error', () => undefined);
    client.on('close', () => {
      if (this.clients.delete(client)) log(ActivityLine.closed(user));
    });
  }
}

function authorised(ctx: AuthContext, grant: StreamGrant): boolean {
  if (ctx.username.toLowerCase() !== grant.claims.email.toLowerCase()) return false;
  if (ctx.method === 'none') return true;
  if (ctx.method !== 'password') return false;
  const given = Buffer.from(ctx.password, 'utf8');
  const token = Buffer.from(grant.token, 'utf8');
  return given.length === token.length && timingSafeEqual(given, token);
}
