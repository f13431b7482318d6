// What the route modules share: the stores and services of one running broker.
import type { AgentPackage } from './agent-package.js';
import type { AuditLog } from './audit-log.js';
import type { ClusterNode } from './cluster/cluster-node.js';
import type { BrokerLogger } from './broker-log.js';
import type { BrokerMetrics } from './metrics.js';
import type { Db } from './database.js';
import type { SessionHub } from './session-hub.js';
import type { MailNotifier } from './mail-notifier.js';
import type { SessionManager } from './session-manager.js';
import type { SmtpSettingsStore } from './smtp-settings.js';
import type { Throttle } from './throttle.js';
import type { TokenIssuer } from './tokens.js';
import type { UserStore } from './users.js';

export interface BrokerContext {
  db: Db;
  users: UserStore;
  sessions: SessionManager;
  /** Live state of open sessions: relays and WebSockets. */
  hub: SessionHub;
  smtp: SmtpSettingsStore;
  mail: MailNotifier;
  throttle: Throttle;
  audit: AuditLog;
  tokens: TokenIssuer;
  /** The package customers run (`npx --yes BROKER/download/rac-VERSION.tgz agent …`). */
  agentPackage: AgentPackage;
  /** The broker's one logger (children carry the request id or session id). */
  log: BrokerLogger;
  metrics: BrokerMetrics;
  /** Where customers and viewers reach this broker (for mails and messages). */
  publicUrl: string;
  /** This broker as one node of its database: its id, the other nodes, the bus between them. */
  cluster: ClusterNode;
  /** The data dir (database and keys), for backups. */
  dataDir: string;
}
