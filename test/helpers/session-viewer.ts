// The IT member's side of a session, played by a test: the viewer WebSocket with a Bearer token,
// the udp_ticket it hands out, a UDP socket pinned with viewer_hello, and what comes back —
// frames (reassembled), control messages, every raw datagram — plus the agent as a process.
import { PATIENCE_MS } from './patience.js';
import { type ChildProcess, spawn } from 'node:child_process';
import { type Socket, createSocket } from 'node:dgram';
import { WebSocket } from 'ws';
import {
  type CompleteFrame,
  type ControlMessage,
  type UnknownControlMessage,
  FrameReassembler,
  decodeDatagram,
  encodeControl,
  encodeKeyboard,
  encodeMouse,
} from '../../src/protocol/index.js';
import { RAC_BIN, call } from './broker-process.js';

export interface TestSession {
  id: number;
  session_code: string;
  udp_port: number;
}

export async function createSession(api: string, token: string): Promise<TestSession> {
  const res = await call(api, 'POST', '/sessions', { token, body: { customer_name: 'Test Customer' } });
  if (res.status !== 200) throw new Error(`POST /sessions: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as TestSession;
}

export interface TestViewer {
  ws: WebSocket;
  udp: Socket;
  /** Every datagram the relay sent this viewer, in order. */
  datagrams: Buffer[];
  controls: (ControlMessage | UnknownControlMessage)[];
  frames: CompleteFrame[];
  statuses: string[];
  /** Resolves with the next complete frame received after this call. */
  nextFrame(timeoutMs?: number): Promise<CompleteFrame>;
  /** Resolves when a control message of this type arrives (or has arrived since `since`). */
  waitControl(type: string, timeoutMs?: number, since?: number): Promise<ControlMessage | UnknownControlMessage>;
  send(datagram: Buffer): Promise<void>;
  mouse(x: number, y: number, button?: number, state?: 0 | 1): Promise<void>;
  key(vk: number, state: 0 | 1): Promise<void>;
  control(message: ControlMessage): Promise<void>;
  close(): Promise<void>;
}

/** Connects as the IT member: WebSocket, udp_ticket, viewer_hello → viewer_ack. */
export async function connectViewer(brokerUrl: string, code: string, token: string): Promise<TestViewer> {
  const ws = new WebSocket(`${brokerUrl.replace(/^http/, 'ws')}/ws/session/${code}`, { headers: { authorization: `Bearer ${token}` } });
  const statuses: string[] = [];
  const ticket = await new Promise<{ udp_port: number; ticket: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no udp_ticket within 10 s')), 10_000);
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; udp_port: number; ticket: string; status: string };
      if (message.type === 'status') statuses.push(message.status);
      if (message.type === 'udp_ticket') {
        clearTimeout(timer);
        resolve(message);
      }
    });
    ws.once('error', reject);
  });

  const udp = createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
  const datagrams: Buffer[] = [];
  const controls: (ControlMessage | UnknownControlMessage)[] = [];
  const frames: CompleteFrame[] = [];
  const reassembler = new FrameReassembler({ timeoutMs: 5000 });
  const frameWaiters: ((frame: CompleteFrame) => void)[] = [];
  const controlWaiters: (() => void)[] = [];
  udp.on('message', (datagram) => {
    datagrams.push(datagram);
    const decoded = decodeDatagram(datagram);
    if (!decoded.ok) return;
    const packet = decoded.packet;
    if (packet.type === 'control') {
      controls.push(packet.message);
      for (const wake of controlWaiters.splice(0)) wake();
    } else if (packet.type === 'frame_chunk') {
      const frame = reassembler.push(packet);
      if (frame) {
        frames.push(frame);
        for (const wake of frameWaiters.splice(0)) wake(frame);
      }
    }
  });
  const send = (datagram: Buffer) =>
    new Promise<void>((resolve, reject) => udp.send(datagram, ticket.udp_port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));

  const typeOf = (m: ControlMessage | UnknownControlMessage) => (m.type === 'unknown' ? m.name : m.type);
  const waitControl = (type: string, timeoutMs = PATIENCE_MS, since = 0) =>
    new Promise<ControlMessage | UnknownControlMessage>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no "${type}" control message within ${timeoutMs} ms`)),
        Math.max(timeoutMs, PATIENCE_MS),
      );
      const check = () => {
        const found = controls.slice(since).find((m) => typeOf(m) === type);
        if (found) {
          clearTimeout(timer);
          resolve(found);
        } else controlWaiters.push(check);
      };
      check();
    });

  await send(encodeControl({ type: 'viewer_hello', ticket: ticket.ticket }));
  await waitControl('viewer_ack', 10_000);

  return {
    ws,
    udp,
    datagrams,
    controls,
    frames,
    statuses,
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
    mouse: (x, y, button = 0, state = 0) => send(encodeMouse({ x, y, button: button as 0, state })),
    key: (vk, state) => send(encodeKeyboard({ vk, state })),
    control: (message) => send(encodeControl(message)),
    async close() {
      ws.close();
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    },
  };
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

const shellQuote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;
