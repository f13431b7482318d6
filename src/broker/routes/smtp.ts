// POST/GET /api/smtp/config and POST /api/smtp/test (admin only). Sending mail is mailer.ts's job.
import type { FastifyInstance } from 'fastify';
import { actorOf, authHooks } from '../auth.js';
import type { BrokerContext } from '../context.js';
import { Errors } from '../errors.js';
import { MailError } from '../mailer.js';
import { BEARER_AUTH } from '../openapi.js';
import { messageReply, replies, smtpConfigReply } from '../response-schemas.js';
import { smtpConfigBody, smtpTestBody } from '../schemas.js';
import type { SmtpSettings } from '../smtp-settings.js';

type SmtpConfigBody = Omit<SmtpSettings, 'require_auth' | 'username'> & {
  username?: string | null;
  password?: string | null;
  require_auth?: boolean;
};

const docs = (summary: string) => ({ tags: ['smtp'], summary, security: BEARER_AUTH });

export function smtpRoutes(app: FastifyInstance, ctx: BrokerContext): void {
  const { requireAdmin } = authHooks(ctx);

  app.post<{ Body: SmtpConfigBody }>(
    '/smtp/config',
    { preHandler: requireAdmin, schema: { ...docs('set the SMTP settings'), body: smtpConfigBody, response: replies(messageReply) } },
    async (request) => {
      const body = request.body;
      const settings: SmtpSettings = {
        smtp_host: body.smtp_host,
        smtp_port: body.smtp_port,
        security_type: body.security_type,
        username: body.username || null,
        from_email: body.from_email,
        require_auth: body.require_auth ?? Boolean(body.username),
      };
      if (settings.require_auth) {
        if (!settings.username) throw Errors.validation('username: required when require_auth is true');
        // Leaving the password out keeps the stored one, so an admin can change other fields.
        if (!body.password && !(await ctx.smtp.hasPassword())) throw Errors.validation('password: required when require_auth is true');
      }
      await ctx.smtp.save(settings, body.password === undefined || body.password === '' ? undefined : body.password);
      await ctx.audit.record(actorOf(request), {
        action: 'smtp.update',
        target_type: 'smtp',
        detail: { ...settings, password_changed: Boolean(body.password) },
      });
      return { message: 'SMTP configured successfully' };
    },
  );

  const getDocs = { ...docs('the SMTP settings (never the password)'), response: replies(smtpConfigReply) };
  app.get('/smtp/config', { preHandler: requireAdmin, schema: getDocs }, async () => {
    const settings = await ctx.smtp.get();
    return settings ? { configured: true, ...settings } : { configured: false };
  });

  // Sends a test mail now and waits for the outcome: the SMTP server's reply is what the admin needs.
  app.post<{ Body: { to: string } }>(
    '/smtp/test',
    { preHandler: requireAdmin, schema: { ...docs('send a test mail now'), body: smtpTestBody, response: replies(messageReply) } },
    async (request) => {
      if (!(await ctx.mail.isConfigured())) throw Errors.smtpNotConfigured();
      const to = request.body.to.trim();
      try {
        await ctx.mail.sendTest(to, request.user!, actorOf(request));
      } catch (err) {
        throw Errors.smtpFailed(err instanceof MailError ? err.message : String(err));
      }
      return { message: `Test email sent to ${to}` };
    },
  );
}
