// A running broker: the database and secrets in the data dir, the session manager with its UDP
// ports, and the HTTP server. `startBroker` is what `rac serve` calls (and what tests can call).
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { AgentPackage, PACKAGE_VERSION } from './agent-package.js';
import { AuditLog, SYSTEM_ACTOR } from './audit-log.js';
import { type BrokerLogger, silentLogger } from './broker-log.js';
import type { BrokerContext } from './context.js';
import { type DataDirLock, lockDataDir } from './data-dir-lock.js';
import { openDatabase } from './database.js';
import { BrokerError } from './errors.js';
import { buildHttpServer } from './http-server.js';
import { replaceCertificate } from './https-server.js';
import { MailNotifier } from './mail-notifier.js';
import { MAIL_INTERRUPTED, Mailer, readCaFile } from './mailer.js';
import { BrokerMetrics } from './metrics.js';
import { type MetricsExposure, type MetricsListener, exposeMetrics } from './metrics-server.js';
import { randomPassword } from './passwords.js';
import { SecretBox } from './secret-box.js';
import { SignallingServer } from './signalling-server.js';
import { SessionHub } from './session-hub.js';
import { ClusterNode } from './cluster/cluster-node.js';
import { defaultNodeId } from './cluster/node-registry.js';
import { loadBrokerSecrets } from './cluster/shared-secrets.js';
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_VIEWERS } from './session-limits.js';
import { SessionManager } from './session-manager.js';
import { SessionStore } from './session-store.js';
import { SmtpSettingsStore } from './smtp-settings.js';
import { type CertificateSummary, type LoadedTls, type TlsFiles, loadTlsFiles } from './tls-files.js';
import { Throttle } from './throttle.js';
import { TokenIssuer } from './tokens.js';
import { type PortRange, UdpPortPool } from './udp-port-pool.js';
import { UserStore } from './users.js';

export const FIRST_ADMIN_EMAIL = 'admin@localhost';

export interface BrokerOptions {
  host: string;
  port: number;
  dataDir: string;
  udpPorts: PortRange;
  publicUrl?: string;
  /** Reverse proxies whose X-Forwarded-For is believed (fastify's trustProxy list). */
  trustProxy?: string;
  pendingTimeoutMs: number;
  /** How long an agent's UDP stream may stay silent before its session counts as disconnected. */
  agentTimeoutMs: number;
  /** An active or disconnected session with no agent datagram and no viewer this long is closed. */
  idleTimeoutMs?: number;
  /** Viewer WebSockets per session (default 4). */
  maxViewers?: number;
  /** A postgres:// URL (--database, RAC_DATABASE_URL); SQLite in the data dir when absent. */
  databaseUrl?: string;
  /** Password for the first admin; a random one is generated (and reported) when absent. */
  adminPassword?: string;
  /** PEM file of extra CAs trusted for the SMTP server's certificate (self-hosted relays). */
  smtpCaFile?: string;
  /** Connect/greeting/idle limit for the SMTP server (default 15 s). */
  smtpTimeoutMs?: number;
  /** Where every module logs (default: nowhere). */
  logger?: BrokerLogger;
  /** GET /metrics on the main port (admin token) and/or a separate listener without auth. */
  metrics?: MetricsExposure;
  /** Serve HTTPS and WSS with this certificate and key (files re-read by `reloadTls`). */
  tls?: TlsFiles;
  /** Several nodes on one PostgreSQL database (docs/architecture.md, "Nodes"). */
  cluster?: ClusterSettings;
}

export interface ClusterSettings {
  /** --node-id (default: HOSTNAME:PORT). */
  nodeId?: string;
  /** --relay-host (default: the host of the public URL). */
  relayHost?: string;
  /** --internal-url (default: the listen URL). */
  internalUrl?: string;
  /** --key-file: seals the secrets kept in PostgreSQL. */
  keyFile?: string;
}

export interface RunningBroker {
  url: string;
  port: number;
  context: BrokerContext;
  /** Set only on the start that created the first admin with a generated password. */
  generatedAdminPassword: string | null;
  /** The separate metrics listener's URL, when --metrics-address started one. */
  metricsUrl: string | null;
  /** The certificate served (with `tls`). */
  certificate?: CertificateSummary;
  /** Re-reads the TLS files for new connections; throws TlsFilesError and keeps the old pair when they are unusable. */
  reloadTls(): CertificateSummary;
  close(): Promise<void>;
}

/** Mails still on their way get this long at shutdown; then their connections are dropped. */
const MAIL_SETTLE_MS = 2_000;

export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  // Read first: a wrong --smtp-ca-file or TLS pair must stop the start, not the first mail or client.
  const smtpCa = options.smtpCaFile ? readCaFile(options.smtpCaFile) : undefined;
  const tls = options.tls ? loadTlsFiles(options.tls) : undefined;
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  // Before the database and any port: a second broker on this dir must change nothing.
  const lock = lockDataDir(options.dataDir);
  try {
    return await startLocked(options, { smtpCa, tls }, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function startLocked(
  options: BrokerOptions,
  { smtpCa, tls }: { smtpCa: string | undefined; tls: LoadedTls | undefined },
  lock: DataDirLock,
): Promise<RunningBroker> {
  const log = options.logger ?? silentLogger();
  const metrics = new BrokerMetrics();
  const db = await openDatabase({
    dataDir: options.dataDir,
    url: options.databaseUrl,
    onIdleError: (err) => log.error({ err }, 'database connection lost; the pool reconnects on the next query'),
  });
  const audit = new AuditLog(db);
  const users = new UserStore(db);
  const ports = new UdpPortPool(options.udpPorts, options.host);
  const nodeId = options.cluster?.nodeId ?? defaultNodeId(options.port, options.dataDir);
  const secrets = await loadBrokerSecrets(db, options.dataDir, options.cluster?.keyFile);
  const sessions = new SessionManager(new SessionStore(db), ports, audit, {
    pendingTimeoutMs: options.pendingTimeoutMs,
    nodeId,
    log: (message) => log.warn(message),
  });
  // The one node of an SQLite file holds every live session, whatever its id was before.
  if (db.engine === 'sqlite') await sessions.store.adoptLive(nodeId);
  const throttle = new Throttle(db);
  throttle.onHit = (scope) => metrics.throttleHit(scope);
  const hub = new SessionHub(sessions, {
    agentTimeoutMs: options.agentTimeoutMs,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    maxViewers: options.maxViewers ?? DEFAULT_MAX_VIEWERS,
    users,
    audit,
    log: log.child({ component: 'session' }),
    relayHost: () => cluster.relayHost,
  });
  metrics.watch({
    sessionsByStatus: () => sessions.store.countByStatus(),
    connections: () => hub.connections(),
    relayTotals: () => hub.relayTotals(),
  });
  const smtp = new SmtpSettingsStore(db, new SecretBox(secrets.smtpKey));
  const mailer = new Mailer({ extraCa: smtpCa, timeoutMs: options.smtpTimeoutMs });
  const mail = new MailNotifier({
    smtp,
    mailer,
    sessions: sessions.store,
    audit,
    publicUrl: () => context.publicUrl,
    version: PACKAGE_VERSION,
    log: log.child({ component: 'mail' }),
    metrics,
  });
  // A crash can leave mails marked "sending" that nobody is sending any more.
  await sessions.store.failUnfinishedEmails(MAIL_INTERRUPTED);
  const cluster = await ClusterNode.start(
    db,
    { nodeId, databaseUrl: options.databaseUrl, jwtKey: secrets.jwtKey, log: log.child({ component: 'cluster' }) },
    { sessions, users, throttle },
  );
  const context: BrokerContext = {
    db,
    users,
    sessions,
    hub,
    audit,
    throttle,
    smtp,
    mail,
    tokens: new TokenIssuer(secrets.jwtKey),
    cluster,
    publicUrl: options.publicUrl ?? '',
    agentPackage: new AgentPackage(join(options.dataDir, 'download'), (message) => log.info(message)),
    log,
    metrics,
    dataDir: options.dataDir,
  };

  const generatedAdminPassword = await createFirstAdmin(users, audit, options.adminPassword);
  await throttle.load();
  await sessions.start();
  await hub.start();
  const pruneTimer = setInterval(() => {
    throttle.prune().catch((err: Error) => log.error({ err }, 'database error while pruning throttle windows'));
  }, 60_000).unref();

  const app = buildHttpServer(context, options.trustProxy, options.metrics?.onMainPort ?? false, tls?.options);
  const signalling = new SignallingServer(context, hub, app.server, options.trustProxy, cluster);
  let metricsListener: MetricsListener | null = null;
  try {
    // fastify cannot tell a server made by serverFactory serves HTTPS: its line would say http://.
    const listenTextResolver = (address: string) => `Server listening at ${tls ? address.replace(/^http:/, 'https:') : address}`;
    await app.listen({ host: options.host, port: options.port, listenTextResolver });
    metricsListener = await exposeMetrics(metrics, options.metrics);
  } catch (err) {
    await app.close();
    signalling.close();
    await hub.stop();
    sessions.stop();
    await cluster.stop();
    await db.close();
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  const url = `${tls ? 'https' : 'http'}://${hostForUrl}:${port}`;
  context.publicUrl ||= url;
  await cluster.register({
    publicUrl: context.publicUrl,
    relayHost: options.cluster?.relayHost,
    internalUrl: options.cluster?.internalUrl,
    listenUrl: url,
  });

  const running: RunningBroker = {
    url,
    port,
    context,
    generatedAdminPassword,
    metricsUrl: metricsListener?.url ?? null,
    certificate: tls?.certificate,
    reloadTls() {
      if (!options.tls) throw new Error('this broker serves plain HTTP: there is no certificate to reload');
      const loaded = loadTlsFiles(options.tls);
      replaceCertificate(app.server, loaded.options);
      running.certificate = loaded.certificate;
      return loaded.certificate;
    },
    async close() {
      clearInterval(pruneTimer);
      await metricsListener?.close();
      await hub.stop();
      signalling.close();
      await app.close();
      await Promise.race([mail.settle(), new Promise((done) => setTimeout(done, MAIL_SETTLE_MS).unref())]);
      mailer.abortAll();
      await mail.settle();
      sessions.stop();
      await cluster.stop();
      await db.close();
      lock.release();
    },
  };
  return running;
}

async function createFirstAdmin(users: UserStore, audit: AuditLog, password: string | undefined): Promise<string | null> {
  if ((await users.count()) > 0) return null;
  const chosen = password || randomPassword();
  const admin = await users
    .create({ email: FIRST_ADMIN_EMAIL, password: chosen, full_name: 'System Administrator', role: 'admin', max_sessions: 50 })
    // Another node on the same database created it meanwhile: that one reports its password.
    .catch((err: unknown) => {
      if (err instanceof BrokerError && err.code === 'RAC_USER_EXISTS') return null;
      throw err;
    });
  if (!admin) return null;
  await audit.record(SYSTEM_ACTOR, { action: 'user.create_first_admin', target_type: 'user', target_id: admin.id });
  return password ? null : chosen;
}
