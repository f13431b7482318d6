// The session agent's book of viewers: who the broker announced, each one's key exchange, whom the
// customer already allowed (by email: a viewer who reconnects is not asked again), who waits for a
// question while another is on screen, and forgetting a viewer everywhere when it leaves, or when a
// resume shows it left while the agent was away.
import type { AnnouncedViewer } from './broker-link.js';
import { describeViewer } from './consent.js';
import type { ScreenStream } from './screen-stream.js';
import { type SealedPeer, ViewerKeys } from './viewer-keys.js';

/** A viewer whose key exchange completed, waiting for (or past) the customer's answer. */
export interface KeyedViewer {
  viewer: AnnouncedViewer;
  peer: SealedPeer;
}

/** What the book needs of the screen stream: adding and dropping a viewer, going quiet with nobody watching. */
type ViewerStream = Pick<ScreenStream, 'addViewer' | 'removeViewer' | 'viewerCount' | 'active' | 'pause'>;

export interface AgentViewersOptions {
  code: string;
  /** --yes: every viewer is allowed without asking. */
  yes: boolean;
  /** With --allow-shell: the host key line bound into every exchange (viewer-keys.ts). */
  sshHostKey?: string;
  stream: ViewerStream;
  say(line: string): void;
}

export class AgentViewers {
  /** Viewers the broker announced, by viewer id. */
  private readonly announced = new Map<number, AnnouncedViewer>();
  /** Emails the customer allowed. */
  private readonly consented = new Set<string>();
  /** Keyed viewers waiting for the customer to answer about another one first. */
  private readonly waiting: KeyedViewer[] = [];
  private readonly keys: ViewerKeys;
  private readonly stream: ViewerStream;
  private readonly say: (line: string) => void;

  constructor(private readonly options: AgentViewersOptions) {
    this.keys = new ViewerKeys(options.code, options.sshHostKey);
    this.stream = options.stream;
    this.say = options.say;
  }

  /** The broker announced a viewer: the agent key to answer its commitment with. */
  announce(viewer: AnnouncedViewer): string {
    this.announced.set(viewer.viewer_id, viewer);
    return this.keys.offer(viewer.viewer_id, viewer.commitment);
  }

  /** The viewer revealed its key: the newly keyed viewer, or undefined (unknown, refused, or a repeat). */
  keyed(viewerId: number, publicKey: string, sessionId: number): KeyedViewer | undefined {
    const viewer = this.announced.get(viewerId);
    if (!viewer) return undefined;
    const result = this.keys.complete(viewerId, publicKey, sessionId);
    if (!result.ok) {
      this.say(`Refused a key for ${describeViewer(viewer)}: ${result.reason}. Nothing is shared with them.`);
      return undefined;
    }
    return result.repeated ? undefined : { viewer, peer: result.peer };
  }

  /** Allowed before (it reconnected) or by --yes: nothing to ask. The customer is told either way. */
  allowedBefore({ viewer, peer }: KeyedViewer): boolean {
    if (this.consented.has(viewer.email)) {
      this.say(`${describeViewer(viewer)} reconnected; security code ${peer.sas}.`);
      return true;
    }
    if (!this.options.yes) return false;
    this.consented.add(viewer.email);
    this.say(`Allowed without asking (--yes): ${describeViewer(viewer)}, security code ${peer.sas}.`);
    return true;
  }

  /** Another question is on screen: this viewer is asked about after it. */
  queue(keyed: KeyedViewer): void {
    this.waiting.push(keyed);
  }

  nextWaiting(): KeyedViewer | undefined {
    return this.waiting.shift();
  }

  /** The customer allowed this viewer: remembered for its reconnects. */
  rememberAllowed(viewer: AnnouncedViewer): void {
    this.consented.add(viewer.email);
  }

  /**
   * Seals the stream to an allowed viewer; false when it left (or started over) while the customer
   * was deciding.
   */
  admit({ viewer, peer }: KeyedViewer): boolean {
    if (this.keys.peer(viewer.viewer_id) !== peer) return false;
    this.stream.addViewer(peer);
    return true;
  }

  /** The broker says this viewer left: forgotten; the customer is told unless `quiet` (ending). */
  left(viewerId: number, quiet: boolean): void {
    const viewer = this.forget(viewerId);
    if (viewer && !quiet) this.afterLeaving(`${describeViewer(viewer)} left the session.`);
  }

  /**
   * A resume: the viewers the broker no longer holds left while this agent was away (a broker
   * restart or another node taking the session over keeps none). Without the list (an older
   * broker) nothing is known, and every viewer is kept.
   */
  forgetGhosts(held: number[] | undefined): void {
    if (!held) return;
    const kept = new Set(held);
    const gone = [...this.announced.keys()].filter((id) => !kept.has(id)).map((id) => this.forget(id)!);
    if (gone.length === 0) return;
    const who = gone.map((viewer) => describeViewer(viewer)).join(', ');
    this.afterLeaving(
      `${who} ${gone.length === 1 ? 'is' : 'are'} no longer connected: the connection ended while this computer was reconnecting to the broker.`,
    );
  }

  /** A new agent identity (the broker no longer knew this agent): every exchange starts over. */
  startOver(): void {
    this.keys.forgetAll();
    for (const id of this.announced.keys()) this.stream.removeViewer(id);
  }

  /** Forgets a viewer everywhere: its key exchange and all the stream keeps for it. */
  private forget(viewerId: number): AnnouncedViewer | undefined {
    const viewer = this.announced.get(viewerId);
    this.announced.delete(viewerId);
    this.keys.forget(viewerId);
    this.stream.removeViewer(viewerId);
    return viewer;
  }

  /** Tells the customer who left; with nobody watching any more, only keepalives go out. */
  private afterLeaving(line: string): void {
    const watching = this.stream.viewerCount;
    this.say(`${line}${watching === 0 ? ' Nobody sees your screen now.' : ''}`);
    if (watching === 0 && this.stream.active) this.stream.pause({ keepalive: true });
  }
}
