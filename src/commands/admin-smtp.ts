// rac admin smtp set|show|test
import { Command, Option } from 'commander';
import type { SecurityType, SmtpConfigInput } from '../client/broker-client.js';
import { terminalSafe } from '../protocol/display-text.js';
import { withLogin } from './broker-call.js';
import type { CommandIo } from './io.js';
import { parsePort } from './option-parsers.js';
import { printFields, printJson, say } from './output.js';
import { readSecret } from './prompt.js';

const DEFAULT_PORTS: Record<SecurityType, number> = { TLS: 587, SSL: 465, NONE: 25 };

interface SmtpSetOptions {
  host: string;
  port?: number;
  security: SecurityType;
  from: string;
  username?: string;
  auth: boolean;
  passwordStdin?: boolean;
  json?: boolean;
}

export function smtpCommand(io: CommandIo): Command {
  const smtp = new Command('smtp').description('the SMTP server the broker mails session codes with (admin only)');
  smtp
    .command('set')
    .description('store the SMTP settings; the password is prompted for (or read with --password-stdin)')
    .requiredOption('--host <host>', 'SMTP server, e.g. smtp.office365.com')
    .addOption(new Option('--security <type>', 'TLS (STARTTLS), SSL (implicit TLS) or NONE').choices(['TLS', 'SSL', 'NONE']).default('TLS'))
    .option('--port <port>', 'SMTP port (default: 587 for TLS, 465 for SSL, 25 for NONE)', parsePort('--port'))
    .requiredOption('--from <email>', 'the sender address of the mails')
    .option('--username <user>', 'log in to the SMTP server as this user')
    .option('--no-auth', 'do not log in to the SMTP server (the default without --username)')
    .option('--password-stdin', 'read the SMTP password from stdin instead of prompting')
    .option('--json', "print the broker's answer as JSON")
    .action((opts: SmtpSetOptions) =>
      withLogin(io, async (client) => {
        const requireAuth = opts.auth && Boolean(opts.username);
        const input: SmtpConfigInput = {
          smtp_host: opts.host,
          smtp_port: opts.port ?? DEFAULT_PORTS[opts.security],
          security_type: opts.security,
          username: opts.username ?? null,
          from_email: opts.from,
          require_auth: requireAuth,
        };
        // Without a terminal and without --password-stdin the stored password is kept.
        if (requireAuth && (opts.passwordStdin || io.stdin.isTTY)) {
          const password = await readSecret(io, {
            label: `SMTP password for ${opts.username} (empty keeps the stored one)`,
            fromStdin: opts.passwordStdin,
            allowEmpty: !opts.passwordStdin,
          });
          if (password) input.password = password;
        }
        const answer = await client.setSmtpConfig(input);
        if (opts.json) return printJson(io, answer);
        say(io, `${terminalSafe(answer.message)}. Send a test mail with \`rac admin smtp test --to ADDRESS\`.`);
      }),
    );
  smtp
    .command('show')
    .description('print the SMTP settings (never the password)')
    .option('--json', 'print one JSON document on stdout')
    .action((opts: { json?: boolean }) =>
      withLogin(io, async (client) => {
        const config = await client.getSmtpConfig();
        if (opts.json) return printJson(io, config);
        if (!config.configured) return say(io, 'SMTP is not configured: `rac admin smtp set --host H --from E` sets it.');
        printFields(io, [
          ['host', config.smtp_host],
          ['port', config.smtp_port],
          ['security', config.security_type],
          ['username', config.username],
          ['from', config.from_email],
          ['authentication', config.require_auth ? 'yes' : 'no'],
        ]);
      }),
    );
  smtp
    .command('test')
    .description('send a test mail with the stored settings')
    .requiredOption('--to <address>', 'where to send the test mail')
    .option('--json', "print the broker's answer as JSON")
    .action((opts: { to: string; json?: boolean }) =>
      withLogin(io, async (client) => {
        const answer = await client.testSmtp(opts.to);
        if (opts.json) return printJson(io, answer);
        say(io, terminalSafe(answer.message));
      }),
    );
  return smtp;
}
