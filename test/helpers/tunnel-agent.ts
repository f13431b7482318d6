// A customer's agent as the tunnel tests play it, at the WebSocket level: it joins a session (saying
// whether it allows a shell, or not saying), tells the broker an SSH host key (agent_host_key), and
// answers each tunnel_open by dialling the stream's other end (/ws/session/{code}/tunnel?stream=N
// with its agent secret), or by refusing. What it does with the bytes is the test's choice: echo
// them, or keep the socket to read itself.
import { generateKeyPairSync } from 'node:crypto';
import { WebSocket } from 'ws';
import { AGENT_SHELL_HEADER, type AgentShell, type SignalMessage } from '../../src/protocol/signal-messages.js';
import { Inbox, type SignalPeer, nextOf, openSignal } from './session-peers.js';

export type TunnelOpen = Extract<SignalMessage, { type: 'tunnel_open' }>;

export interface AgentStream {
  open: TunnelOpen;
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
}

export interface TunnelAgentOptions {
  /** The line sent as agent_host_key; null sends none (an agent without --allow-shell). */
  hostKey?: string | null;
  /** What the agent says of its shell as it joins (X-Rac-Agent-Shell); default: nothing, as the reference client. */
  shell?: AgentShell;
  /** How to answer tunnel_open: dial and echo every byte (default), dial only, refuse, or ignore. */
  answer?: 'echo' | 'dial' | { refuse: string } | 'ignore';
}

export interface TunnelAgent {
  signal: SignalPeer;
  secret: string;
  sessionId: number;
  hostKey: string | null;
  /** Every tunnel_open received, in order. */
  opens: Inbox<TunnelOpen>;
  /** Every stream this agent dialled, once its WebSocket is open. */
  streams: Inbox<AgentStream>;
  close(): void;
}

/** A fresh ed25519 public key as an OpenSSH line: "ssh-ed25519 AAAA…". */
export function ed25519HostKeyLine(): string {
  const raw = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const field = (bytes: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), bytes]);
  return `ssh-ed25519 ${Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]).toString('base64')}`;
}

export function tunnelWsUrl(brokerUrl: string, code: string, query = ''): string {
  return `${brokerUrl.replace(/^http/, 'ws')}/ws/session/${code}/tunnel${query}`;
}

/** Dials a stream's agent end as the agent does. */
export function dialAgentEnd(brokerUrl: string, code: string, streamId: number | string, secret: string): Promise<WebSocket> {
  const ws = new WebSocket(tunnelWsUrl(brokerUrl, code, `?stream=${streamId}`), { headers: { 'x-rac-agent-secret': secret } });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

export async function joinTunnelAgent(brokerUrl: string, code: string, options: TunnelAgentOptions = {}): Promise<TunnelAgent> {
  const signal = await openSignal(brokerUrl, code, {}, options.shell ? { [AGENT_SHELL_HEADER]: options.shell } : {});
  const welcome = await nextOf(signal, 'agent_welcome');
  const secret = welcome.agent_secret!;
  const hostKey = options.hostKey === undefined ? ed25519HostKeyLine() : options.hostKey;
  if (hostKey !== null) signal.send({ type: 'agent_host_key', public_key: hostKey });
  const opens = new Inbox<TunnelOpen>();
  const streams = new Inbox<AgentStream>();
  const sockets: WebSocket[] = [];
  const answer = options.answer ?? 'echo';
  signal.ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as { type: string };
    if (message.type !== 'tunnel_open') return;
    const open = message as TunnelOpen;
    opens.push(open);
    if (answer === 'ignore') return;
    if (typeof answer === 'object') return signal.send({ type: 'tunnel_refused', stream_id: open.stream_id, reason: answer.refuse });
    void dialAgentEnd(brokerUrl, code, open.stream_id, secret).then((ws) => {
      sockets.push(ws);
      if (answer === 'echo') ws.on('message', (bytes, isBinary) => ws.send(bytes as Buffer, { binary: isBinary }));
      const closed = new Promise<{ code: number; reason: string }>((resolve) =>
        ws.once('close', (closeCode, reason) => resolve({ code: closeCode, reason: String(reason) })),
      );
      streams.push({ open, ws, closed });
    });
  });
  return {
    signal,
    secret,
    sessionId: welcome.session_id,
    hostKey,
    opens,
    streams,
    close: () => {
      for (const ws of sockets) ws.terminate();
      signal.ws.close();
    },
  };
}
