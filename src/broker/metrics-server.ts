// Where the metrics are published. Prometheus scrapers rarely carry a bearer token, so besides
// GET /metrics on the main port (admin token, `--metrics`) the broker can serve them on a separate
// listener without auth (`--metrics-address HOST:PORT`), meant for loopback or a private network.
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrokerMetrics } from './metrics.js';

export interface MetricsExposure {
  /** GET /metrics on the main port, for admins. */
  onMainPort: boolean;
  /** A separate plain-HTTP listener serving GET /metrics to anyone who can reach it. */
  address?: { host: string; port: number };
}

export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

/** Starts process metrics when anything publishes them, and the separate listener when asked. */
export async function exposeMetrics(metrics: BrokerMetrics, exposure: MetricsExposure | undefined): Promise<MetricsListener | null> {
  if (!exposure || (!exposure.onMainPort && !exposure.address)) return null;
  metrics.collectProcessMetrics();
  if (!exposure.address) return null;
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: the metrics are at GET /metrics\n');
      return;
    }
    metrics.text().then(
      (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      () => response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n'),
    );
  });
  await listen(server, exposure.address.host, exposure.address.port);
  const port = (server.address() as AddressInfo).port;
  const host = exposure.address.host.includes(':') ? `[${exposure.address.host}]` : exposure.address.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
