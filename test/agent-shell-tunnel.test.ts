// The agent's tunnel connector against a stand-in for the broker's tunnel endpoint (a real ws
// server on loopback): a verified, allowed `tunnel_open` dials /ws/session/{code}/tunnel?stream=N
// with the agent secret and carries a working SSH connection; a token of another secret, stream or
// time, a customer who says no, or an agent without --allow-shell get `tunnel_refused` and no dial.
import './helpers/quiet-home.js';
import t, { type Test } from 'tap';
import type { IncomingMessage } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { Client } from 'ssh2';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { loadOrCreateHostKey } from '../src/agent/shell/host-key.js';
import { ShellServer } from '../src/agent/shell/ssh-server.js';
import { type TunnelOpen, TunnelConnector } from '../src/agent/shell/tunnel-connector.js';
import { type TunnelRefusal, mintTunnelToken, newAgentSecret } from '../src/protocol/index.js';
import { IT_EMAIL, IT_NAME, execOn } from './helpers/shell-server.js';
import { PATIENCE_MS } from './helpers/patience.js';

const CODE = '123456789';
const SESSION_ID = 12;

interface Harness {
  secret: string;
  refusals: [number, TunnelRefusal][];
  dials: IncomingMessage[];
  asked: string[];
  lines: string[];
  connector: TunnelConnector;
  /** The ssh2 client the stand-in broker connects over the agent's tunnel socket, once dialled. */
  client: Promise<Client>;
}

async function harness(t: Test, options: { allowShell?: boolean; consent?: boolean; now?: () => number } = {}): Promise<Harness> {
  const secret = newAgentSecret();
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  const dials: IncomingMessage[] = [];
  const client = new Promise<Client>((resolve, reject) =>
    wss.on('connection', (ws, req) => {
      dials.push(req);
      const c = new ssh2.Client();
      c.on('ready', () => resolve(c)).on('error', reject);
      c.connect({ sock: createWebSocketStream(ws), username: IT_EMAIL, readyTimeout: PATIENCE_MS });
    }),
  );
  const lines: string[] = [];
  const shell = new ShellServer({
    hostKey: loadOrCreateHostKey(mkdtempSync(join(tmpdir(), 'rac-tun-'))).privateKey,
    log: (l) => lines.push(l),
  });
  const refusals: [number, TunnelRefusal][] = [];
  const asked: string[] = [];
  const connector = new TunnelConnector({
    server: `http://127.0.0.1:${(wss.address() as { port: number }).port}`,
    code: CODE,
    allowShell: options.allowShell ?? true,
    agentSecret: () => secret,
    sessionId: () => SESSION_ID,
    consent: async (user) => (asked.push(user.email), options.consent ?? true),
    refuse: (id, reason) => refusals.push([id, reason]),
    shell,
    say: (l) => lines.push(l),
    now: options.now,
  });
  t.teardown(async () => {
    connector.close();
    shell.close();
    await new Promise((resolve) => wss.close(resolve));
  });
  return { secret, refusals, dials, asked, lines, connector, client };
}

function tunnelOpen(secret: string, streamId: number, overrides: { mintedFor?: number; expiresAt?: number } = {}): TunnelOpen {
  const token = mintTunnelToken({
    agentSecret: secret,
    sessionId: SESSION_ID,
    streamId: overrides.mintedFor ?? streamId,
    email: IT_EMAIL,
    fullName: IT_NAME,
    expiresAt: overrides.expiresAt ?? Date.now() + 30_000,
  });
  return { stream_id: streamId, full_name: IT_NAME, email: IT_EMAIL, token };
}

t.test('a verified, allowed stream is dialled with the agent secret and carries SSH', async (t) => {
  const h = await harness(t);
  await h.connector.open(tunnelOpen(h.secret, 5));
  const client = await h.client;
  t.teardown(() => client.end());
  t.equal(h.dials.length, 1);
  t.equal(h.dials[0]!.url, `/ws/session/${CODE}/tunnel?stream=5`);
  t.equal(h.dials[0]!.headers['x-rac-agent-secret'], h.secret);
  t.same(h.asked, [IT_EMAIL], 'the customer was asked');
  const r = await execOn(client, 'echo through the tunnel');
  t.equal(r.stdout.toString(), 'through the tunnel\n');
  t.same(h.refusals, []);
});

t.test('tokens of another secret, stream or time are refused without dialling or asking', async (t) => {
  const h = await harness(t, { now: () => 1_000_000 });
  await h.connector.open(tunnelOpen(newAgentSecret(), 1, { expiresAt: 1_030_000 }));
  await h.connector.open(tunnelOpen(h.secret, 2, { mintedFor: 3, expiresAt: 1_030_000 }));
  await h.connector.open(tunnelOpen(h.secret, 4, { expiresAt: 999_000 }));
  await h.connector.open({ ...tunnelOpen(h.secret, 6, { expiresAt: 1_030_000 }), token: 'rt1.junk.junk' });
  t.same(h.refusals, [
    [1, 'bad_token'],
    [2, 'bad_token'],
    [4, 'bad_token'],
    [6, 'bad_token'],
  ]);
  t.equal(h.dials.length, 0, 'nothing was dialled');
  t.same(h.asked, [], 'the customer was not bothered');
  t.match(h.lines.join('\n'), /Refused a terminal request: the stream token has expired/);
});

t.test('a customer who says no, or an agent without --allow-shell, refuses', async (t) => {
  const declined = await harness(t, { consent: false });
  await declined.connector.open(tunnelOpen(declined.secret, 7));
  t.same(declined.refusals, [[7, 'declined']]);
  const notAllowed = await harness(t, { allowShell: false });
  await notAllowed.connector.open(tunnelOpen(notAllowed.secret, 8));
  t.same(notAllowed.refusals, [[8, 'shell_not_allowed']]);
  t.equal(declined.dials.length + notAllowed.dials.length, 0, 'nothing was dialled');
});
