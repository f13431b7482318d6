// rac session create|list|close|info
import { Command } from 'commander';
import type { Session } from '../client/broker-client.js';
import { compactSessionCode, isSessionCode } from '../protocol/session-code.js';
import { terminalSafe } from '../protocol/display-text.js';
import { withLogin, withServer } from './broker-call.js';
import { CliError, usageError } from './cli-error.js';
import type { CommandIo } from './io.js';
import { printFields, printJson, printTable, say } from './output.js';

const jsonOption = ['--json', 'print one JSON document on stdout'] as const;

export function sessionCommand(io: CommandIo): Command {
  const session = new Command('session').description('create, list, close and look up sessions');
  session
    .command('create')
    .description('create a session and print its 9-digit code')
    .option('--customer-name <name>', "the customer's name, for your list")
    .option('--customer-email <email>', 'mail the code to this address (needs SMTP settings)')
    .option('--allow-unencrypted', 'for the reference Windows client only: let it join, its stream is then NOT encrypted')
    .option(...jsonOption)
    .action((opts: { customerName?: string; customerEmail?: string; allowUnencrypted?: boolean; json?: boolean }) =>
      withLogin(io, async (client) => {
        const created = await client.createSession({
          customer_name: opts.customerName ?? null,
          customer_email: opts.customerEmail ?? null,
          ...(opts.allowUnencrypted ? { allow_unencrypted_agent: true } : {}),
        });
        if (opts.allowUnencrypted && created.allow_unencrypted_agent !== true) {
          throw new CliError(
            `the broker at ${client.server} ignored --allow-unencrypted (it is older than this rac): session ${created.id} was created without it; close it with \`rac session close ${created.id}\` and upgrade the broker`,
          );
        }
        if (opts.json) return printJson(io, created);
        printSession(io, created);
        if (created.email_status === 'sending')
          say(
            io,
            `Mailing the code to ${terminalSafe(created.customer_email ?? '')}; the MAIL column of \`rac session list\` says whether it was sent.`,
          );
        say(io, `Give the customer the code ${created.session_code} (rac agent --code ${created.session_code} --server ${client.server}).`);
      }),
    );
  session
    .command('list')
    .description('list your last 100 sessions (all sessions for admins), newest first')
    .option(...jsonOption)
    .action((opts: { json?: boolean }) =>
      withLogin(io, async (client) => {
        const sessions = await client.listSessions();
        if (opts.json) return printJson(io, sessions);
        if (sessions.length === 0) return say(io, 'No sessions.');
        printTable(
          io,
          ['ID', 'CODE', 'STATUS', 'CUSTOMER', 'CUSTOMER EMAIL', 'MAIL', 'UDP', 'OWNER', 'CREATED'],
          sessions.map((s) => [
            s.id,
            s.session_code,
            s.status,
            s.customer_name,
            s.customer_email,
            s.email_status,
            s.udp_port,
            s.tech_user_id,
            s.created_at,
          ]),
        );
      }),
    );
  session
    .command('close')
    .description('close a session (ends the connection of both sides)')
    .argument('<id>', 'the session id (the ID column of `rac session list`)')
    .option(...jsonOption)
    .action((idText: string, opts: { json?: boolean }) => {
      if (!/^\d{1,15}$/.test(idText))
        throw usageError(`session id: expected a number, got "${idText}" (a 9-digit code is not an id: see \`rac session list\`)`);
      return withLogin(io, async (client) => {
        const answer = await client.closeSession(Number(idText));
        if (opts.json) return printJson(io, answer);
        say(io, `Session ${idText}: ${terminalSafe(answer.message)}.`);
      });
    });
  session
    .command('info')
    .description("a session's status and UDP port by its code (no login needed)")
    .argument('<code>', 'the 9-digit session code')
    .option('--server <url>', 'the broker (default: RAC_SERVER, then the last login)')
    .option(...jsonOption)
    .action((code: string, opts: { server?: string; json?: boolean }) => {
      if (!isSessionCode(compactSessionCode(code))) throw usageError(`session code: expected 9 digits, got "${code}"`);
      return withServer(io, opts.server, async (client) => {
        const info = await client.sessionInfo(compactSessionCode(code));
        if (opts.json) return printJson(io, info);
        printFields(io, [
          ['code', info.session_code],
          ['status', info.status],
          ['UDP port', info.udp_port],
          ...unencryptedField(info.allow_unencrypted_agent),
        ]);
      });
    });
  return session;
}

function printSession(io: CommandIo, s: Session): void {
  printFields(io, [
    ['code', s.session_code],
    ['id', s.id],
    ['status', s.status],
    ['customer', s.customer_name],
    ['customer email', s.customer_email],
    ...(s.email_status !== undefined
      ? [['mail', s.email_error ? `${s.email_status}: ${s.email_error}` : s.email_status] as [string, string | null]]
      : []),
    ['UDP port', s.udp_port],
    ...unencryptedField(s.allow_unencrypted_agent),
    ['created', s.created_at],
  ]);
}

/** Whether the reference client's clear stream may join; nothing from brokers that predate it. */
function unencryptedField(allowed: boolean | undefined): [string, string][] {
  if (allowed === undefined) return [];
  return [['unencrypted agent', allowed ? 'allowed (reference Windows client; the stream is NOT encrypted)' : 'refused']];
}
