// The tunnels of every live session (docs/protocol.md, "Tunnels"): an IT member's tunnel WebSocket
// waits here while the broker asks the customer's agent (tunnel_open, with a stream token) to dial
// the other end; the two are then joined by a TunnelPipe. The relay keeps the agent's SSH host key
// (agent_host_key) for tunnel_ready, and closes streams when their session, agent or IT member's
// right to the session goes: the hub calls it on each of those events.
import type { WebSocket } from 'ws';
import { CloseCode } from '../protocol/close-codes.js';
import { type AgentShell, Signal } from '../protocol/signal-messages.js';
import { encodeTunnelReady } from '../protocol/tunnel-messages.js';
import { TUNNEL_TOKEN_MAX_LIFETIME_MS, mintTunnelToken } from '../protocol/tunnel-token.js';
import type { ViewerLogin } from './live-session.js';
import { TunnelPipe } from './tunnel-pipe.js';
import type { TunnelSocket } from '../shared/tunnel-socket.js';

/** How long the customer's agent has to dial the tunnel's other end. */
export const TUNNEL_ANSWER_TIMEOUT_MS = 10_000;
/** Open and waiting tunnel streams per session (IT sides waiting for the host key included). */
export const MAX_TUNNELS_PER_SESSION = 16;
/**
 * How long after its agent connected a tunnel waits for the agent's SSH host key when the agent did
 * not say whether it allows a shell (no X-Rac-Agent-Shell): an agent with --allow-shell sends the key
 * in answer to its welcome, so a tunnel asked for in that moment opens anyway, and an agent that
 * sent none by then was started without it. An agent that said it allows one is waited for up to
 * TUNNEL_ANSWER_TIMEOUT_MS; one that said it does not is refused at once.
 */
export const HOST_KEY_GRACE_MS = 2000;
const NO_TERMINAL = "The customer's agent does not allow a terminal (it was started without --allow-shell)";
const NO_HOST_KEY = "The customer's agent did not send its SSH host key: try again, or ask the customer to restart it";

/** What the relay asks of the hub. */
export interface TunnelHost {
  /** The session's connected agent WebSocket, its secret and when it connected. */
  agent(sessionId: number): { ws: WebSocket; secret: string; since: number } | undefined;
  /** Why this login may no longer use the session (a close code), or undefined while it may. */
  refusal(sessionId: number, login: ViewerLogin): number | undefined;
}

interface TunnelStream {
  id: number;
  sessionId: number;
  login: ViewerLogin;
  it: TunnelSocket;
  token: string;
  answerTimer?: NodeJS.Timeout;
  pipe?: TunnelPipe;
}

interface SessionTunnels {
  hostKey: string | undefined;
  /** What the connected agent said when it joined; undefined: it did not say (or no agent). */
  shell: AgentShell | undefined;
  nextStreamId: number;
  streams: Map<number, TunnelStream>;
  /** IT sides waiting for the agent's host key: each is woken when it comes or the agent goes. */
  keyWaiters: Set<KeyWaiter>;
}

interface KeyWaiter {
  it: TunnelSocket;
  login: ViewerLogin;
  wake(): void;
  /** Stops waiting and closes the IT side. */
  end(code: number, reason: string): void;
}

/** Why a tunnel could not be opened before the WebSocket upgrade (an HTTP status and a detail). */
export interface TunnelRefusalBeforeUpgrade {
  status: number;
  detail: string;
}

export class TunnelRelay {
  private readonly sessions = new Map<number, SessionTunnels>();

  constructor(
    private readonly host: TunnelHost,
    private readonly now: () => number = Date.now,
  ) {}

  /** The agent's SSH host key (from agent_host_key), kept for as long as that agent is connected. */
  setHostKey(sessionId: number, publicKey: string): void {
    const tunnels = this.tunnelsOf(sessionId);
    tunnels.hostKey = publicKey;
    this.wakeWaiters(tunnels);
  }

  /** What the session's agent said as it joined (X-Rac-Agent-Shell), kept while it is connected. */
  setAgentShell(sessionId: number, shell: AgentShell | undefined): void {
    this.tunnelsOf(sessionId).shell = shell;
  }

  /**
   * Open and waiting streams of a session, IT sides waiting for the agent's host key included: they
   * count toward MAX_TUNNELS_PER_SESSION and keep the session from being closed as idle.
   */
  count(sessionId: number): number {
    const tunnels = this.sessions.get(sessionId);
    return tunnels ? tunnels.streams.size + tunnels.keyWaiters.size : 0;
  }

  /**
   * Before the upgrade: whether an IT side may open a stream now (409, 429). The upgrade and
   * openFromIt follow in the same tick (TunnelServer.accept), so no other IT side comes between.
   */
  refuseBeforeUpgrade(sessionId: number): TunnelRefusalBeforeUpgrade | undefined {
    if (!this.host.agent(sessionId)) {
      return { status: 409, detail: "The customer's agent is not connected: ask the customer to run rac agent --code" };
    }
    if (this.count(sessionId) >= MAX_TUNNELS_PER_SESSION) {
      return { status: 429, detail: `This session already has ${MAX_TUNNELS_PER_SESSION} tunnels open: close one first` };
    }
    return undefined;
  }

  /** The IT side's WebSocket is open: ask the agent for the other end, or refuse at once. */
  openFromIt(sessionId: number, it: TunnelSocket, login: ViewerLogin): void {
    const agent = this.host.agent(sessionId);
    const tunnels = this.tunnelsOf(sessionId);
    if (!agent) return it.close(CloseCode.AGENT_NO_ANSWER, "The customer's agent is not connected");
    // The agent's word first: a host key left from an earlier agent of the session is not a yes.
    if (tunnels.shell === 'not-allowed') return it.close(CloseCode.SHELL_NOT_ALLOWED, NO_TERMINAL);
    if (tunnels.hostKey) return this.ask(sessionId, agent, tunnels, it, login);
    const retry = () => this.openFromIt(sessionId, it, login);
    if (tunnels.shell === 'allowed') {
      // The key is coming: wait for it as long as for an answer to tunnel_open.
      const timedOut = () => it.close(CloseCode.AGENT_NO_ANSWER, NO_HOST_KEY);
      return this.awaitHostKey(tunnels, { it, login }, TUNNEL_ANSWER_TIMEOUT_MS, retry, timedOut);
    }
    const grace = agent.since + HOST_KEY_GRACE_MS - this.now();
    if (grace <= 0) return it.close(CloseCode.SHELL_NOT_ALLOWED, NO_TERMINAL);
    this.awaitHostKey(tunnels, { it, login }, grace, retry, retry);
  }

  /** Asks the agent to dial a new stream for this IT side. */
  private ask(sessionId: number, agent: { ws: WebSocket; secret: string }, tunnels: SessionTunnels, it: TunnelSocket, login: ViewerLogin) {
    const id = tunnels.nextStreamId++;
    const { email, full_name } = login.user;
    const token = mintTunnelToken({
      agentSecret: agent.secret,
      sessionId,
      streamId: id,
      email,
      fullName: full_name ?? '',
      expiresAt: this.now() + TUNNEL_TOKEN_MAX_LIFETIME_MS,
    });
    const stream: TunnelStream = { id, sessionId, login, it, token };
    tunnels.streams.set(id, stream);
    it.once('close', () => this.drop(stream));
    stream.answerTimer = setTimeout(
      () =>
        this.end(stream, CloseCode.AGENT_NO_ANSWER, "The customer's agent did not answer: try again, or ask the customer to restart it"),
      TUNNEL_ANSWER_TIMEOUT_MS,
    );
    agent.ws.send(Signal.tunnelOpen(id, full_name ?? '', email, token));
  }

  /** Whether the agent may dial this stream now (it is waiting for its other end). */
  isWaiting(sessionId: number, streamId: number): boolean {
    const stream = this.sessions.get(sessionId)?.streams.get(streamId);
    return stream !== undefined && stream.pipe === undefined;
  }

  /** The agent dialled the other end of a waiting stream: tell the IT side, then pipe. */
  agentDialled(sessionId: number, streamId: number, agentWs: TunnelSocket): void {
    const tunnels = this.sessions.get(sessionId);
    const stream = tunnels?.streams.get(streamId);
    if (!tunnels?.hostKey || !stream || stream.pipe) return agentWs.close(CloseCode.SESSION_GONE, 'No tunnel waits for this stream');
    clearTimeout(stream.answerTimer);
    stream.it.send(
      encodeTunnelReady({ stream_id: stream.id, host_key: tunnels.hostKey, username: stream.login.user.email, password: stream.token }),
    );
    stream.pipe = new TunnelPipe(stream.it, agentWs, () => this.drop(stream));
  }

  /** The agent said no to a stream (tunnel_refused). */
  refused(sessionId: number, streamId: number, reason: string): void {
    const stream = this.sessions.get(sessionId)?.streams.get(streamId);
    if (!stream || stream.pipe) return;
    if (reason === 'shell_not_allowed' || reason === 'declined') {
      this.end(stream, CloseCode.SHELL_NOT_ALLOWED, 'The customer did not allow a terminal and file transfers');
    } else {
      this.end(stream, CloseCode.AGENT_NO_ANSWER, `The customer's agent refused the stream (${reason.slice(0, 40)}): try again`);
    }
  }

  /** The session's agent left: its streams end and its host key is forgotten. */
  agentGone(sessionId: number): void {
    const tunnels = this.sessions.get(sessionId);
    if (!tunnels) return;
    tunnels.hostKey = undefined;
    tunnels.shell = undefined;
    for (const stream of [...tunnels.streams.values()]) this.end(stream, CloseCode.NORMAL, "The customer's agent left");
    this.wakeWaiters(tunnels);
  }

  /** The session closed (or the broker stops): everything of it goes. */
  sessionGone(sessionId: number, code: number = CloseCode.NORMAL, reason = 'Session closed'): void {
    const tunnels = this.sessions.get(sessionId);
    if (!tunnels) return;
    this.sessions.delete(sessionId);
    for (const stream of [...tunnels.streams.values()]) this.end(stream, code, reason);
    for (const waiter of [...tunnels.keyWaiters]) waiter.end(code, reason);
  }

  /** The IT members with a stream open or waiting (for the agent's answer or its host key). */
  userIds(): Set<number> {
    const ids = new Set<number>();
    for (const tunnels of this.sessions.values()) {
      for (const stream of tunnels.streams.values()) ids.add(stream.login.user.id);
      for (const waiter of tunnels.keyWaiters) ids.add(waiter.login.user.id);
    }
    return ids;
  }

  /** Every live stream and IT side waiting for the host key (of one user, after a change to it) is checked against its login's rights. */
  recheck(userId?: number): void {
    for (const [sessionId, tunnels] of this.sessions) {
      const refusal = (login: ViewerLogin) =>
        userId !== undefined && login.user.id !== userId ? undefined : this.host.refusal(sessionId, login);
      for (const stream of [...tunnels.streams.values()]) {
        const code = refusal(stream.login);
        if (code !== undefined) this.end(stream, code, refusalReason(code));
      }
      for (const waiter of [...tunnels.keyWaiters]) {
        const code = refusal(waiter.login);
        if (code !== undefined) waiter.end(code, refusalReason(code));
      }
    }
  }

  private tunnelsOf(sessionId: number): SessionTunnels {
    let tunnels = this.sessions.get(sessionId);
    if (!tunnels) {
      tunnels = { hostKey: undefined, shell: undefined, nextStreamId: 1, streams: new Map(), keyWaiters: new Set() };
      this.sessions.set(sessionId, tunnels);
    }
    return tunnels;
  }

  /**
   * Runs `then` when the host key comes or the agent goes, `timedOut` when `ms` pass first; neither
   * if the IT side closes (or is ended) first.
   */
  private awaitHostKey(
    tunnels: SessionTunnels,
    side: { it: TunnelSocket; login: ViewerLogin },
    ms: number,
    then: () => void,
    timedOut: () => void,
  ): void {
    const { it } = side;
    const finish = (next?: () => void) => {
      if (!tunnels.keyWaiters.delete(waiter)) return;
      clearTimeout(timer);
      it.off('close', onClose);
      if (next && it.readyState === it.OPEN) next();
    };
    const waiter: KeyWaiter = {
      ...side,
      wake: () => finish(then),
      end: (code, reason) => finish(() => it.close(code, reason)),
    };
    const timer = setTimeout(() => finish(timedOut), ms);
    const onClose = () => finish();
    tunnels.keyWaiters.add(waiter);
    it.once('close', onClose);
  }

  private wakeWaiters(tunnels: SessionTunnels): void {
    for (const waiter of [...tunnels.keyWaiters]) waiter.wake();
  }

  private end(stream: TunnelStream, code: number, reason: string): void {
    this.drop(stream);
    if (stream.pipe) stream.pipe.close(code, reason);
    else stream.it.close(code, reason);
  }

  /** Forgets a stream (idempotent); its sockets are closed by whoever called. */
  private drop(stream: TunnelStream): void {
    clearTimeout(stream.answerTimer);
    const tunnels = this.sessions.get(stream.sessionId);
    if (tunnels?.streams.get(stream.id) === stream) tunnels.streams.delete(stream.id);
  }
}

function refusalReason(code: number): string {
  return code === CloseCode.FORBIDDEN ? 'You may no longer open this session' : 'Your login is no longer valid: log in again';
}
