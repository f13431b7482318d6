// The broker's Prometheus metrics: one registry, owned here. Figures that already exist elsewhere
// (sessions in the database, connections in the hub, the relays' own counters) are read when a
// scraper asks, so the UDP hot path pays nothing beyond the relay's plain counter increments.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { SESSION_STATUSES, type SessionStatus } from '../protocol/index.js';
import type { RelayCounters } from './session-relay.js';

/** What the metrics read at scrape time. */
export interface MetricSources {
  sessionsByStatus(): Promise<Partial<Record<SessionStatus, number>>>;
  connections(): { viewers: number; agents: number };
  /** Every relay's counters since the broker started, closed sessions' included. */
  relayTotals(): RelayCounters;
}

/** Relay counters published as rac_relay_dropped_total{reason}. */
const DROP_REASONS = ['malformed', 'unknown_source', 'not_allowed', 'no_peer', 'clear', 'wrong_viewer'] as const;
/** The relay's own throttle (wrong session codes in UDP handshakes), counted with the HTTP scopes. */
export const UDP_HANDSHAKE_SCOPE = 'udp_handshake';

export type MailKind = 'session_code' | 'welcome' | 'test';

export class BrokerMetrics {
  readonly registry = new Registry();
  private sources: MetricSources | undefined;
  private readonly throttleCounts = new Map<string, number>();
  private readonly httpRequests = new Counter({
    name: 'rac_http_requests_total',
    help: 'HTTP requests answered, by route template and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'rac_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route template',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  private readonly mails = new Counter({
    name: 'rac_mails_total',
    help: 'Mails the broker tried to send, by kind and outcome (sent or failed)',
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    this.liveMetrics();
    this.relayMetrics();
  }

  /** Connects the scrape-time figures (once the hub and stores exist). */
  watch(sources: MetricSources): void {
    this.sources = sources;
  }

  /** Node's process metrics (CPU, memory, file descriptors, event-loop lag…): only when published. */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpRequests.inc({ method, route, status: String(status) });
    this.httpDuration.observe({ method, route }, seconds);
  }

  throttleHit(scope: string): void {
    this.throttleCounts.set(scope, (this.throttleCounts.get(scope) ?? 0) + 1);
  }

  mail(kind: MailKind, outcome: 'sent' | 'failed'): void {
    this.mails.inc({ kind, outcome });
  }

  /** The Prometheus text exposition format. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private liveMetrics(): void {
    const sources = () => this.sources;
    new Gauge({
      name: 'rac_sessions',
      help: 'Sessions in the database, by status',
      labelNames: ['status'] as const,
      registers: [this.registry],
      // Async: prom-client awaits it, so a scrape reads the database without blocking the broker.
      async collect() {
        const counts = (await sources()?.sessionsByStatus()) ?? {};
        for (const status of SESSION_STATUSES) this.set({ status }, counts[status] ?? 0);
      },
    });
    new Gauge({
      name: 'rac_connections',
      help: 'Session WebSockets connected now, by party (viewer or agent)',
      labelNames: ['party'] as const,
      registers: [this.registry],
      collect() {
        const now = sources()?.connections() ?? { viewers: 0, agents: 0 };
        this.set({ party: 'viewer' }, now.viewers);
        this.set({ party: 'agent' }, now.agents);
      },
    });
    const throttleCounts = this.throttleCounts;
    new Counter({
      name: 'rac_throttle_hits_total',
      help: 'Requests refused by a throttle (429, or a UDP handshake ignored), by scope',
      labelNames: ['scope'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [scope, n] of throttleCounts) this.inc({ scope }, n);
        this.inc({ scope: UDP_HANDSHAKE_SCOPE }, sources()?.relayTotals().handshakes_throttled ?? 0);
      },
    });
  }

  private relayMetrics(): void {
    const totals = () => this.sources?.relayTotals();
    const perDirection = (name: string, help: string, read: (c: RelayCounters) => [number, number]) =>
      new Counter({
        name,
        help,
        labelNames: ['direction'] as const,
        registers: [this.registry],
        collect() {
          const counters = totals();
          const [received, sent] = counters ? read(counters) : [0, 0];
          this.reset();
          this.inc({ direction: 'in' }, received);
          this.inc({ direction: 'out' }, sent);
        },
      });
    perDirection('rac_relay_datagrams_total', 'UDP datagrams the relays received (in) and sent (out)', (c) => [
      c.datagrams_in,
      c.datagrams_out,
    ]);
    perDirection('rac_relay_bytes_total', 'UDP payload bytes the relays received (in) and sent (out)', (c) => [c.bytes_in, c.bytes_out]);
    new Counter({
      name: 'rac_relay_dropped_total',
      help: 'UDP datagrams the relays dropped, by reason',
      labelNames: ['reason'] as const,
      registers: [this.registry],
      collect() {
        const counters = totals();
        this.reset();
        for (const reason of DROP_REASONS) this.inc({ reason }, counters?.[`dropped_${reason}`] ?? 0);
      },
    });
  }
}
