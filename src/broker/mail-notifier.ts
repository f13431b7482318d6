// The mails the broker sends on its own, and what it records about them: the session code to a
// customer (outcome on the session row and in the audit log), the welcome mail to a new user and
// the admin's test mail. Nothing here ever throws into a request that did not ask for the mail.
import type { Actor, AuditLog } from './audit-log.js';
import type { BrokerLogger } from './broker-log.js';
import type { BrokerMetrics, MailKind } from './metrics.js';
import { type MailContent, type Person, sessionCodeMail, testMail, welcomeMail } from './mail-templates.js';
import { MailError, type Mailer, ehloNameFor, toMailError } from './mailer.js';
import type { Session, SessionStore } from './session-store.js';
import type { SmtpSettingsStore } from './smtp-settings.js';

/** The session's email_error when no SMTP server is set up (`rac admin smtp set`, POST /api/smtp/config). */
export const NOT_CONFIGURED = 'SMTP is not configured';

export interface MailNotifierDeps {
  smtp: SmtpSettingsStore;
  mailer: Mailer;
  sessions: SessionStore;
  audit: AuditLog;
  /** Read at send time: the broker's own URL is known only once it listens. */
  publicUrl: () => string;
  /** The broker's rac version, for the commands in the mails. */
  version: string;
  log: BrokerLogger;
  /** Counts mails sent and failed. */
  metrics?: BrokerMetrics;
}

export class MailNotifier {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly deps: MailNotifierDeps) {}

  /**
   * What a new session's row says of its code mail, read before the session is made (an error here
   * creates nothing): null when no mail is asked for, "failed" when SMTP is not set up (nobody is
   * told "mailing" for a mail that cannot go), else "sending".
   */
  async sessionCodeStatus(customerEmail: string | null): Promise<Pick<Session, 'email_status' | 'email_error'>> {
    if (!customerEmail) return { email_status: null, email_error: null };
    if (!(await this.isConfigured())) return { email_status: 'failed', email_error: NOT_CONFIGURED };
    return { email_status: 'sending', email_error: null };
  }

  /**
   * Mails the code of a session created "sending", or records why it could not go, on a later turn
   * of the event loop (after the HTTP response). Never throws: its outcome lands on the session and
   * in the audit log, a database error in the log.
   */
  queueSessionCode(session: Session, tech: Person, actor: Actor): void {
    const to = session.customer_email;
    if (!to || session.email_status === null) return;
    const afterResponse = new Promise<void>((resolve) => setImmediate(resolve));
    if (session.email_status === 'failed') {
      this.outcome('session_code', session.email_error);
      return this.track(afterResponse.then(() => this.recordSessionCode(actor, session.id, to)));
    }
    this.track(
      afterResponse
        .then(() =>
          this.deliver(
            to,
            sessionCodeMail({
              code: session.session_code,
              serverUrl: this.deps.publicUrl(),
              version: this.deps.version,
              tech,
              customerName: session.customer_name,
            }),
            tech.email,
          ),
        )
        .then(
          async () => {
            await this.deps.sessions.setEmailStatus(session.id, 'sent');
            this.outcome('session_code', null);
          },
          async (err: MailError) => {
            await this.deps.sessions.setEmailStatus(session.id, 'failed', err.message);
            this.outcome('session_code', err.message);
          },
        )
        .then(() => this.recordSessionCode(actor, session.id, to)),
    );
  }

  private async recordSessionCode(actor: Actor, sessionId: number, to: string): Promise<void> {
    const after = await this.deps.sessions.byId(sessionId);
    await this.deps.audit.record(actor, {
      action: 'email.session_code',
      target_type: 'session',
      target_id: sessionId,
      detail: { to, status: after?.email_status ?? null, error: after?.email_error ?? null },
    });
  }

  /** Welcome mail for a new user, sent after the response; the outcome goes to the audit log only. */
  queueWelcome(user: Person & { id: number }, admin: Person, actor: Actor): void {
    this.track(
      new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => this.deliver(user.email, welcomeMail({ serverUrl: this.deps.publicUrl(), version: this.deps.version, user, admin })))
        .then(
          () => ({ status: 'sent', error: null }),
          (err: MailError) => ({ status: 'failed', error: err.message }),
        )
        .then((outcome) => {
          this.outcome('welcome', outcome.error);
          return outcome;
        })
        .then((outcome) =>
          this.deps.audit.record(actor, {
            action: 'email.welcome',
            target_type: 'user',
            target_id: user.id,
            detail: { to: user.email, ...outcome },
          }),
        ),
    );
  }

  /** The admin's test mail: resolves when sent, rejects with the MailError to report (502). */
  async sendTest(to: string, admin: Person, actor: Actor): Promise<void> {
    const settings = await this.deps.smtp.get();
    const summary = settings
      ? `${settings.smtp_host}:${settings.smtp_port}, security ${settings.security_type}, ` +
        (settings.require_auth ? `login as ${settings.username}` : 'no login')
      : '';
    try {
      await this.deliver(to, testMail({ serverUrl: this.deps.publicUrl(), admin, settingsSummary: summary }));
      await this.deps.audit.record(actor, { action: 'email.test', target_type: 'smtp', detail: { to, status: 'sent', error: null } });
      this.outcome('test', null);
    } catch (err) {
      const error = err instanceof MailError ? err : toMailError(err);
      this.outcome('test', error.message);
      await this.deps.audit.record(actor, {
        action: 'email.test',
        target_type: 'smtp',
        detail: { to, status: 'failed', error: error.message },
      });
      throw error;
    }
  }

  /** One log line and one count per mail; `error` null when it was sent. */
  private outcome(kind: MailKind, error: string | null): void {
    this.deps.metrics?.mail(kind, error === null ? 'sent' : 'failed');
    if (error === null) this.deps.log.info({ kind }, 'mail sent');
    else this.deps.log.warn({ kind, error }, 'mail failed');
  }

  async isConfigured(): Promise<boolean> {
    return (await this.deps.smtp.get()) !== null;
  }

  /** Waits for the mails still on their way (shutdown, tests). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async deliver(to: string, content: MailContent, replyTo?: string): Promise<void> {
    const settings = await this.deps.smtp.getWithPassword();
    if (!settings) throw new MailError(NOT_CONFIGURED, 'ENOTCONFIGURED');
    try {
      await this.deps.mailer.send(settings, { to, replyTo, ehloName: ehloNameFor(this.deps.publicUrl()), ...content });
    } catch (err) {
      throw err instanceof MailError ? err : toMailError(err);
    }
  }

  private track(work: Promise<unknown>): void {
    const guarded = work.catch((err: unknown) => this.deps.log.error({ err }, 'mail bookkeeping failed'));
    this.inFlight.add(guarded);
    void guarded.finally(() => this.inFlight.delete(guarded));
  }
}
