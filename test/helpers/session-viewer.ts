// The IT member's side of a session, played by a test: the viewer WebSocket with a Bearer token,
// the key exchange with the agent (the viewer's real code), a UDP socket pinned with the relay's
// cookie, and what comes back — frames (opened and reassembled), control messages, every raw
// datagram — plus the agent as a process.
import { PATIENCE_MS } from './patience.js';
import { type ChildProcess, spawn } from 'node:child_process';
import { type Socket, createSocket } from 'node:dgram';
import { WebSocket } from 'ws';
import {
  type CompleteFrame,
  type ControlMessage,
  type Packet,
  type SignalMessage,
  type UnknownControlMessage,
  FrameReassembler,
  Signal,
  decodeDatagram,
  encodeControl,
  encodeKeyboard,
  encodeMouse,
  parseSignalMessage,
} from '../../src/protocol/index.js';
import { AgentKeyExchange } from '../../src/viewer-tty/agent-keys.js';
import type { Test } from 'tap';
import { type BrokerProcess, RAC_BIN, call, login, startBrokerProcess } from './broker-process.js';
import { freePort } from './ports.js';
import { type Xvfb, startXvfb } from './xvfb.js';
import { helperSocketTls } from './test-certificates.js';

export interface TestSession {
  id: number;
  session_code: string;
  udp_port: number;
}

export async function createSession(api: string, token: string): Promise<TestSession> {
  const res = await call<TestSession>(api, 'POST', '/sessions', { token, body: { customer_name: 'Test Customer' } });
  if (res.status !== 200) throw new Error(`POST /sessions: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export interface TestViewer {
  ws: WebSocket;
  udp: Socket;
  /** Every datagram the relay sent this viewer, in order (sealed ones as they arrived). */
  datagrams: Buffer[];
  /** The relay's clear control messages and the agent's opened (or, for a reference client, clear) ones. */
  controls: (ControlMessage | UnknownControlMessage)[];
  frames: CompleteFrame[];
  statuses: string[];
  /** Every signalling message received, parsed. */
  signals: SignalMessage[];
  /** Sealed datagrams that did not open (forged, altered, replayed). */
  refused(): number;
  /** The security code once the key exchange completed. */
  sas(): string | undefined;
  /** Resolves with the security code when the key exchange completes. */
  waitSealed(timeoutMs?: number): Promise<string>;
  /** Resolves with the next complete frame received after this call. */
  nextFrame(timeoutMs?: number): Promise<CompleteFrame>;
  /** Resolves when a control message of this type arrives (or has arrived since `since`). */
  waitControl(type: string, timeoutMs?: number, since?: number): Promise<ControlMessage | UnknownControlMessage>;
  /** Sends raw bytes to the session's UDP port. */
  send(datagram: Buffer): Promise<void>;
  /** Seals an inner datagram to the agent without sending it: a test can send, replay or alter the bytes. */
  sealForAgent(inner: Buffer): Buffer;
  /** The network between the relay and this viewer: every arriving datagram passes through `fn` first. */
  tamperIncoming(fn: ((datagram: Buffer) => Buffer) | undefined): void;
  /** Input and control go sealed once keys are agreed, else in clear (reference-client sessions). */
  mouse(x: number, y: number, button?: number, state?: 0 | 1): Promise<void>;
  key(vk: number, state: 0 | 1): Promise<void>;
  control(message: ControlMessage): Promise<void>;
  close(): Promise<void>;
}

/** Waits for `test` to hold, re-checked whenever `wakers` are called. */
function waitUntil<T>(what: string, timeoutMs: number, wakers: (() => void)[], test: () => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} within ${timeoutMs} ms`)), Math.max(timeoutMs, PATIENCE_MS));
    const check = () => {
      const value = test();
      if (value !== undefined) {
        clearTimeout(timer);
        resolve(value);
      } else wakers.push(check);
    };
    check();
  });
}

/**
 * Connects as the IT member, speaking the real protocol with the viewer's own key-exchange code:
 * WebSocket (joined → key_commit; agent_key → viewer_key), udp_ticket, viewer_hello → viewer_ack →
 * viewer_confirm → viewer_ready. Resolves once the UDP address is pinned.
 */
export async function connectViewer(brokerUrl: string, code: string, token: string): Promise<TestViewer> {
  const ws = new WebSocket(`${brokerUrl.replace(/^http/, 'ws')}/ws/session/${code}`, {
    headers: { authorization: `Bearer ${token}` },
    ...helperSocketTls,
  });
  const keys = new AgentKeyExchange(code);
  const statuses: string[] = [];
  const signals: SignalMessage[] = [];
  const wakers: (() => void)[] = [];
  const wake = () => {
    for (const fn of wakers.splice(0)) fn();
  };
  let ids: { viewerId: number; sessionId: number } | undefined;
  let ticket: { udp_port: number; ticket: string } | undefined;
  ws.on('message', (data) => {
    const parsed = parseSignalMessage(data as Buffer);
    if (!parsed.ok) return;
    const message = parsed.message;
    signals.push(message);
    if (message.type === 'status') statuses.push(message.status);
    if (message.type === 'udp_ticket') ticket = message;
    if (message.type === 'joined' || message.type === 'agent_joined') {
      if (message.type === 'joined') ids = { viewerId: message.viewer_id, sessionId: message.session_id };
      ws.send(Signal.keyCommit(keys.restart()));
    }
    if (message.type === 'agent_key' && ids && message.viewer_id === ids.viewerId) {
      const answer = keys.answer(message.public_key, ids, message.ssh_host_key);
      if (answer.ok) ws.send(Signal.viewerKey(ids.viewerId, answer.viewerKey));
    }
    wake();
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await opened;
  const { udp_port } = await waitUntil('no udp_ticket', 10_000, wakers, () => ticket);

  const udp = createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
  const datagrams: Buffer[] = [];
  const controls: (ControlMessage | UnknownControlMessage)[] = [];
  const frames: CompleteFrame[] = [];
  const reassembler = new FrameReassembler({ timeoutMs: 5000 });
  const frameWaiters: ((frame: CompleteFrame) => void)[] = [];
  let refused = 0;
  let tamper: ((datagram: Buffer) => Buffer) | undefined;
  const onPacket = (packet: Packet) => {
    if (packet.type === 'control') controls.push(packet.message);
    else if (packet.type === 'frame_chunk') {
      const frame = reassembler.push(packet);
      if (frame) {
        frames.push(frame);
        for (const fn of frameWaiters.splice(0)) fn(frame);
      }
    }
  };
  udp.on('message', (arrived) => {
    const datagram = tamper ? tamper(arrived) : arrived;
    datagrams.push(datagram);
    const decoded = decodeDatagram(datagram);
    if (!decoded.ok) return;
    if (decoded.packet.type !== 'sealed') onPacket(decoded.packet);
    else {
      const open = keys.channel?.opener.open(decoded.packet);
      const inner = open?.ok ? decodeDatagram(open.value) : undefined;
      if (inner?.ok) onPacket(inner.packet);
      else refused++;
    }
    wake();
  });
  const send = (datagram: Buffer) =>
    new Promise<void>((resolve, reject) => udp.send(datagram, udp_port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  const toAgent = (inner: Buffer) => send(keys.channel ? keys.channel.sealer.seal(inner) : inner);

  const typeOf = (m: ControlMessage | UnknownControlMessage) => (m.type === 'unknown' ? m.name : m.type);
  const waitControl = (type: string, timeoutMs = PATIENCE_MS, since = 0) =>
    waitUntil(`no "${type}" control message`, timeoutMs, wakers, () => controls.slice(since).find((m) => typeOf(m) === type));

  await send(encodeControl({ type: 'viewer_hello', ticket: ticket!.ticket }));
  const ack = (await waitControl('viewer_ack', 10_000)) as { cookie: string };
  await send(encodeControl({ type: 'viewer_confirm', cookie: ack.cookie }));
  await waitControl('viewer_ready', 10_000);

  return {
    ws,
    udp,
    datagrams,
    controls,
    frames,
    statuses,
    signals,
    refused: () => refused,
    sas: () => keys.channel?.sas,
    waitSealed: (timeoutMs = PATIENCE_MS) => waitUntil('no key exchange', timeoutMs, wakers, () => keys.channel?.sas),
    nextFrame: (timeoutMs = PATIENCE_MS) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no complete frame within ${timeoutMs} ms`)), Math.max(timeoutMs, PATIENCE_MS));
        frameWaiters.push((frame) => {
          clearTimeout(timer);
          resolve(frame);
        });
      }),
    waitControl,
    send,
    sealForAgent(inner) {
      if (!keys.channel) throw new Error('no key exchange with the agent yet: await waitSealed() first');
      return keys.channel.sealer.seal(inner);
    },
    tamperIncoming: (fn) => void (tamper = fn),
    mouse: (x, y, button = 0, state = 0) => toAgent(encodeMouse({ x, y, button: button as 0, state })),
    key: (vk, state) => toAgent(encodeKeyboard({ vk, state })),
    control: (message) => toAgent(encodeControl(message)),
    close: once(async () => {
      ws.close();
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    }),
  };
}

/** `fn` runs the first time only; later calls get the first call's promise (teardowns may repeat a close). */
function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

export interface AgentProcess {
  process: ChildProcess;
  stderr(): string;
  /** Resolves when stderr matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * `rac agent` as a process. `viaPty` runs it under script(1), so its stdin is a terminal. With
 * `openctrol` it runs with --openctrol (the API alongside the session), else with --no-openctrol.
 */
export function startAgent(args: string[], env: NodeJS.ProcessEnv, options: { viaPty?: boolean; openctrol?: boolean } = {}): AgentProcess {
  const argv = [RAC_BIN, 'agent', ...args, options.openctrol ? '--openctrol' : '--no-openctrol'];
  const child = options.viaPty
    ? spawn('script', ['-qefc', [process.execPath, ...argv].map(shellQuote).join(' '), '/dev/null'], {
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
      })
    : spawn(process.execPath, argv, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  const waiters: (() => void)[] = [];
  const collect = (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const wake of waiters.splice(0)) wake();
  };
  child.stderr!.on('data', collect);
  // Under script(1) the agent's stderr arrives on script's stdout (the terminal).
  if (options.viaPty) child.stdout!.on('data', collect);
  else child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    process: child,
    stderr: () => stderr,
    exited,
    waitFor(pattern, timeoutMs = PATIENCE_MS) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`agent never printed ${pattern} in ${timeoutMs} ms; stderr:\n${stderr}`)),
          Math.max(timeoutMs, PATIENCE_MS),
        );
        const check = () => {
          const match = pattern.exec(stderr);
          if (match) {
            clearTimeout(timer);
            resolve(match);
          } else if (child.exitCode !== null) {
            clearTimeout(timer);
            reject(new Error(`agent exited (${child.exitCode}) without printing ${pattern}; stderr:\n${stderr}`));
          } else waiters.push(check);
        };
        exited.then(() => {
          for (const wake of waiters.splice(0)) wake();
        });
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** `rac agent --yes` sharing a real, still screen in a session whose broker can restart on the same address. */
export interface AgentSession {
  /** The agent's screen, painted one colour. */
  xvfb: Xvfb;
  /** The first broker process, on a port chosen for it (a restart comes back on the same one). */
  broker: BrokerProcess;
  /** The admin's token on the first broker. */
  token: string;
  session: TestSession;
  agent: AgentProcess;
  /** Starts the broker again on the first one's port, data dir and UDP ports (stop the first one before). */
  restartBroker(): Promise<BrokerProcess>;
}

/**
 * Xvfb painted one colour, a broker on a fixed port (so that after a restart the agent finds it at
 * the address it knows), the admin logged in, a session, and the agent (--yes, --max-width 640) on
 * it. Everything started is stopped when `t` ends.
 */
export async function startAgentSession(t: Test): Promise<AgentSession> {
  const xvfb = await startXvfb();
  t.teardown(() => xvfb.stop());
  await xvfb.paint([{ x: 0, y: 0, width: 1920, height: 1080, color: '#cc3366' }]);
  const fixedPort = ['--port', String(await freePort())];
  const broker = await startBrokerProcess({ args: fixedPort });
  t.teardown(() => broker.stop());
  const token = await login(broker.api);
  const session = await createSession(broker.api, token);
  const agent = startAgent(['--code', session.session_code, '--server', broker.url, '--yes', '--max-width', '640'], xvfb.env);
  t.teardown(() => agent.stop('SIGKILL'));
  const restartBroker = async () => {
    const again = await startBrokerProcess({ dataDir: broker.dataDir, udpPorts: broker.udpPorts, args: fixedPort });
    t.teardown(() => again.stop());
    return again;
  };
  return { xvfb, broker, token, session, agent, restartBroker };
}

const shellQuote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;
