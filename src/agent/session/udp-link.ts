// The agent's UDP socket to the session's port on the broker: the handshake that pins it (raw
// JSON, no type byte, proven with the agent secret), keepalives every 2 s, the sealed datagrams
// to each viewer, and what the relay forwards from viewers (sealed type 6; the relay's own clear
// control messages). Datagrams from any other address are ignored, and a malformed one is counted,
// never thrown.
import { type Socket, createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { EventEmitter } from 'node:events';
import {
  type ControlMessage,
  type DisconnectReason,
  type Packet,
  agentHandshakeProof,
  decodeDatagram,
  encodeControl,
  encodeHandshake,
} from '../../protocol/index.js';

export const KEEPALIVE_INTERVAL_MS = 2000;
/** Big enough for a burst of frame datagrams without ENOBUFS on a busy loopback. */
const SEND_BUFFER_BYTES = 4 * 1024 * 1024;
/** A clipboard transfer (up to 1 MiB) must fit while the loop is busy encoding a frame (Linux caps it at rmem_max). */
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

export type AgentPacket = Exclude<Packet, { type: 'handshake' | 'frame_chunk' }>;

export interface UdpLinkEvents {
  packet: [packet: AgentPacket];
  /** The broker's type-4 disconnect; reason "shutdown" means it is restarting (come back). */
  disconnect: [reason: DisconnectReason | undefined];
}

export interface UdpLinkStats {
  datagramsSent: number;
  bytesSent: number;
  sendErrors: number;
  datagramsReceived: number;
  malformed: number;
  fromStrangers: number;
  /** Well-formed datagrams of a kind the broker never forwards to an agent (frames, handshakes). */
  unexpected: number;
}

export class UdpLink extends EventEmitter<UdpLinkEvents> {
  private socket: Socket | undefined;
  private target: { address: string; port: number } | undefined;
  private keepalive: NodeJS.Timeout | undefined;
  /** Handshake timestamps only grow: the broker refuses a replayed one. */
  private lastHandshakeAt = 0;
  readonly stats: UdpLinkStats = {
    datagramsSent: 0,
    bytesSent: 0,
    sendErrors: 0,
    datagramsReceived: 0,
    malformed: 0,
    fromStrangers: 0,
    unexpected: 0,
  };

  constructor(
    private readonly host: string,
    private readonly sessionCode: string,
  ) {
    super();
  }

  /**
   * Resolves the relay's host (the one the broker named, else the broker's own) and points the
   * socket at `port` (again after a broker restart).
   */
  async open(port: number, relayHost?: string): Promise<void> {
    const { address, family } = await lookup(relayHost ?? this.host);
    const type = family === 6 ? 'udp6' : 'udp4';
    if (!this.socket || (this.socket.address().family === 'IPv6') !== (type === 'udp6')) {
      this.socket?.close();
      this.socket = await bindSocket(type, (datagram, from) => this.receive(datagram, from));
    }
    this.target = { address, port };
  }

  /**
   * Pins this socket as the session's agent, proven with the secret the broker gave this agent;
   * `screen` is the size of the shared monitor.
   */
  handshake(screen: { width: number; height: number }, agentSecret: string): Promise<void> {
    const timestamp = Math.max(Date.now(), this.lastHandshakeAt + 1);
    this.lastHandshakeAt = timestamp;
    const datagram = encodeHandshake({
      session_code: this.sessionCode,
      screen_width: screen.width,
      screen_height: screen.height,
      timestamp,
      agent_proof: agentHandshakeProof(agentSecret, this.sessionCode, timestamp),
    });
    return this.send(datagram);
  }

  control(message: ControlMessage): Promise<void> {
    return this.send(encodeControl(message));
  }

  startKeepalive(): void {
    this.stopKeepalive();
    this.keepalive = setInterval(() => void this.control({ type: 'keepalive' }), KEEPALIVE_INTERVAL_MS);
  }

  stopKeepalive(): void {
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = undefined;
  }

  /** Sends datagrams in order; resolves when all are handed to the kernel (errors are counted). */
  async sendAll(datagrams: Buffer[]): Promise<void> {
    await Promise.all(datagrams.map((d) => this.send(d)));
  }

  send(datagram: Buffer): Promise<void> {
    const socket = this.socket;
    const target = this.target;
    if (!socket || !target) return Promise.resolve();
    return new Promise((resolve) => {
      try {
        socket.send(datagram, target.port, target.address, (err) => {
          if (err) this.stats.sendErrors++;
          else {
            this.stats.datagramsSent++;
            this.stats.bytesSent += datagram.length;
          }
          resolve();
        });
      } catch {
        this.stats.sendErrors++;
        resolve();
      }
    });
  }

  close(): void {
    this.stopKeepalive();
    this.socket?.close();
    this.socket = undefined;
  }

  private receive(datagram: Buffer, from: { address: string; port: number }): void {
    const target = this.target;
    if (!target || from.port !== target.port || from.address !== target.address) {
      this.stats.fromStrangers++;
      return;
    }
    this.stats.datagramsReceived++;
    const decoded = decodeDatagram(datagram);
    if (!decoded.ok) {
      this.stats.malformed++;
      return;
    }
    const packet = decoded.packet;
    if (packet.type === 'handshake' || packet.type === 'frame_chunk' || (packet.type === 'sealed' && !packet.toAgent)) {
      this.stats.unexpected++;
      return;
    }
    if (packet.type === 'control' && packet.message.type === 'disconnect') {
      this.emit('disconnect', packet.message.reason);
      return;
    }
    this.emit('packet', packet);
  }
}

function bindSocket(
  type: 'udp4' | 'udp6',
  onMessage: (datagram: Buffer, from: { address: string; port: number }) => void,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type, sendBufferSize: SEND_BUFFER_BYTES, recvBufferSize: RECEIVE_BUFFER_BYTES });
    socket.once('error', reject);
    socket.on('message', onMessage);
    socket.bind(0, () => {
      socket.off('error', reject);
      // ICMP "port unreachable" while the broker restarts surfaces here: not fatal.
      socket.on('error', () => undefined);
      resolve(socket);
    });
  });
}
