// The customer's agent's signalling WebSocket: who may join or resume a session, its secret, and the
// messages it sends (its keys for viewers, its SSH host key, its answers to tunnels).
import { WebSocket } from 'ws';
import { newAgentSecret } from '../protocol/crypto/keys.js';
import { CloseCode, Signal, type SignalMessage } from '../protocol/index.js';
import type { HubServices, LiveSession, SignalHandler } from './live-session.js';
import { viewerAnnouncement } from './viewer-socket.js';

export class AgentSocket {
  constructor(private readonly hub: HubServices) {}

  /**
   * The customer's agent. With `resuming` (its secret was checked) it replaces its own stale
   * connection; with the code alone it joins only while no agent is connected, and gets a new secret.
   */
  connected(live: LiveSession, ws: WebSocket, resuming: boolean, address: string | null): SignalHandler | undefined {
    const connected = live.agent !== undefined && live.agent.readyState === WebSocket.OPEN;
    if (!resuming && connected) {
      return void ws.close(CloseCode.AGENT_ALREADY_CONNECTED, 'An agent is already connected to this session');
    }
    if (live.agent) live.agent.close(CloseCode.REPLACED, 'Replaced by a new connection of the same agent');
    live.agent = ws;
    live.agentSince = this.hub.now();
    // The status is stored before the agent is welcomed: whoever it tells finds the session active.
    void this.hub.updateStatus(live).then(() => {
      if (live.agent !== ws || ws.readyState !== WebSocket.OPEN) return;
      if (resuming) this.resumed(live, ws);
      else this.joined(live, ws);
    });
    this.hub.partyEvent(live, resuming ? 'session.agent_resume' : 'session.agent_join', { id: null, email: null, address });
    ws.once('close', () => {
      if (live.agent !== ws) return;
      live.agent = undefined;
      if (!this.hub.stopped()) this.hub.log.info({ session_id: live.id, address }, 'agent left');
      this.hub.tunnels.agentGone(live.id);
      void this.hub.updateStatus(live);
    });
    return (message) => this.fromAgent(live, message);
  }

  /**
   * The same agent came back: nothing changes for the viewers; it learns who is there again, and
   * which viewers are still held (after a restart or a takeover, none of the old ones): it forgets the rest.
   */
  private resumed(live: LiveSession, ws: WebSocket): void {
    ws.send(Signal.agentWelcome(live.id, true, undefined, [...live.viewers.keys()]));
    for (const viewer of live.viewers.values()) if (viewer.commitment) ws.send(viewerAnnouncement(viewer));
  }

  /**
   * A new agent: a new secret. If another agent had joined before, its keys mean nothing now: every
   * viewer is told and runs a new exchange; the old agent's UDP address is forgotten.
   */
  private joined(live: LiveSession, ws: WebSocket): void {
    const replacing = live.agentSecret !== undefined;
    const secret = newAgentSecret();
    live.agentSecret = secret;
    // Kept for a broker restart; the live session knows it already.
    this.hub.store.setAgentSecret(live.id, secret).catch((err: Error) => this.hub.storeFailed(live, err));
    ws.send(Signal.agentWelcome(live.id, false, secret));
    if (replacing) {
      live.relay.forgetAgent();
      live.plainAgent = false;
      for (const viewer of live.viewers.values()) {
        viewer.commitment = undefined;
        viewer.ws.send(Signal.agentJoined(false));
      }
    } else {
      // Viewers that committed before any agent came: their commitments hold for this first agent.
      for (const viewer of live.viewers.values()) if (viewer.commitment) ws.send(viewerAnnouncement(viewer));
    }
  }

  private fromAgent(live: LiveSession, message: SignalMessage): void {
    const tunnels = this.hub.tunnels;
    if (message.type === 'agent_host_key') return tunnels.setHostKey(live.id, message.public_key);
    if (message.type === 'tunnel_refused') return tunnels.refused(live.id, message.stream_id, message.reason);
    if (message.type !== 'agent_key') return;
    this.hub.log.debug({ session_id: live.id, viewer_id: message.viewer_id, type: message.type }, 'signal from agent');
    // ssh_host_key (agents with --allow-shell) is part of the transcript: relayed as the agent sent it.
    live.viewers.get(message.viewer_id)?.ws.send(Signal.agentKey(message.viewer_id, message.public_key, message.ssh_host_key));
  }
}
