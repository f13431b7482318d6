// HTTPS for the broker: fastify on a Node https.Server (REST, the /join page, downloads and the
// session WebSocket share the port), whose certificate can be swapped while it runs.
import type { FastifyServerFactory } from 'fastify';
import type { Server as HttpServer } from 'node:http';
import { type Server as HttpsServer, createServer } from 'node:https';
import type { SecureContextOptions } from 'node:tls';

export function httpsServerFactory(tls: SecureContextOptions): FastifyServerFactory {
  // fastify types its raw server as http.Server; an https.Server answers the same requests.
  return (handler) => createServer({ ...tls, minVersion: 'TLSv1.2' }, handler) as unknown as HttpServer;
}

/** New connections get the new certificate; open ones (sessions, WebSockets) keep theirs. */
export function replaceCertificate(server: HttpServer, tls: SecureContextOptions): void {
  (server as unknown as HttpsServer).setSecureContext(tls);
}
