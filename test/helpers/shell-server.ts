// The agent's SSH server (src/agent/shell/) on a real loopback socket, standing in for the broker's
// tunnel: each TCP connection is handed to ShellServer.accept with a grant for one IT member, the
// way the agent hands it a tunnel stream after verifying its token. Plus an ssh2 client for it.
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client, ClientChannel, ConnectConfig } from 'ssh2';
import ssh2 from 'ssh2';
import { loadOrCreateHostKey, type HostKey } from '../../src/agent/shell/host-key.js';
import { ShellServer, type ShellServerOptions, type StreamGrant } from '../../src/agent/shell/ssh-server.js';
import { mintTunnelToken, newAgentSecret, verifyTunnelToken } from '../../src/protocol/index.js';
import { PATIENCE_MS } from './patience.js';

export const IT_EMAIL = 'jane@example.com';
export const IT_NAME = 'Jane Doe';

export interface RunningShellServer {
  port: number;
  hostKey: HostKey;
  grant: StreamGrant;
  /** Lines the customer's terminal got. */
  lines: string[];
  server: ShellServer;
  close(): Promise<void>;
}

/** A grant as the agent makes one: a token minted for stream 1 of session 1, verified. */
export function verifiedGrant(): StreamGrant {
  const agentSecret = newAgentSecret();
  const now = Date.now();
  const token = mintTunnelToken({ agentSecret, sessionId: 1, streamId: 1, email: IT_EMAIL, fullName: IT_NAME, expiresAt: now + 30_000 });
  const result = verifyTunnelToken(token, agentSecret, { sessionId: 1, streamId: 1, now });
  if (!result.ok) throw new Error(`a freshly minted token does not verify: ${result.message}`);
  return { claims: result.claims, token };
}

export async function startShellServer(options: Partial<ShellServerOptions> = {}): Promise<RunningShellServer> {
  const hostKey = loadOrCreateHostKey(mkdtempSync(join(tmpdir(), 'rac-shell-')));
  const lines: string[] = [];
  const grant = verifiedGrant();
  const server = new ShellServer({ hostKey: hostKey.privateKey, log: (line) => lines.push(line), ...options });
  const tcp = createServer((socket) => server.accept(socket, grant));
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const port = (tcp.address() as { port: number }).port;
  const close = async () => {
    server.close();
    await new Promise((resolve) => tcp.close(resolve));
  };
  return { port, hostKey, grant, lines, server, close };
}

/** An ssh2 client logged in (or the error that stopped it), checking the host key it was given. */
export function connectClient(port: number, config: Partial<ConnectConfig> = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.on('ready', () => resolve(client));
    client.on('error', reject);
    client.connect({ host: '127.0.0.1', port, username: IT_EMAIL, readyTimeout: PATIENCE_MS, ...config });
  });
}

/** Runs a command; its stdout, stderr and exit status. */
export function execOn(
  client: Client,
  command: string,
  input?: Buffer,
): Promise<{ stdout: Buffer; stderr: string; code: number | null; signal?: string }> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, channel) => {
      if (err) return reject(err);
      const out: Buffer[] = [];
      let stderr = '';
      let code: number | null = null;
      let signal: string | undefined;
      channel.on('data', (d: Buffer) => out.push(d));
      channel.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      channel.on('exit', (c: number | null, s?: string) => {
        code = c;
        signal = s;
      });
      channel.on('close', () => resolve({ stdout: Buffer.concat(out), stderr, code, signal }));
      channel.end(input);
    });
  });
}

/** Collects a channel's output and waits for a pattern in it. */
export class ChannelOutput {
  text = '';
  constructor(channel: ClientChannel) {
    channel.on('data', (d: Buffer) => (this.text += d.toString()));
    channel.stderr.on('data', (d: Buffer) => (this.text += d.toString()));
  }

  async waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    const end = Date.now() + PATIENCE_MS;
    while (Date.now() < end) {
      const match = this.text.match(pattern);
      if (match) return match;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no ${pattern} in the channel's output within ${PATIENCE_MS} ms; it said: ${JSON.stringify(this.text.slice(-400))}`);
  }
}
