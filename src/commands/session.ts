// rac session create|list|close|info
import { Command } from 'commander';
import { BrokerApiError, type BrokerClient, type CreatedSession, type Session } from '../client/broker-client.js';
import type { Credentials } from '../client/credentials.js';
import { withLogin, withServer } from './broker-call.js';
import { CliError, ExitCode, usageError } from './cli-error.js';
import { compactSessionCode, isSessionCode } from '../protocol/session-code.js';
import { terminalSafe } from '../protocol/display-text.js';
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
        printSession(io, created, customerCommandOf(created, client.server));
        if (created.email_status === 'sending')
          say(
            io,
            `Mailing the code to ${terminalSafe(created.customer_email ?? '')}; the MAIL column of \`rac session list\` says whether it was sent.`,
          );
        else if (created.email_status === 'failed')
          say(io, `Not mailed: ${terminalSafe(created.email_error ?? 'the broker gave no reason')} — give the customer the code yourself.`);
        say(
          io,
          `Give the customer the code ${created.session_code} and the command above${created.join_url ? ', or send them to the help page' : ''}.`,
        );
      }),
    );
  session
    .command('list')
    .description('list your last 100 sessions (all sessions for admins), newest first')
    .option(...jsonOption)
    .action((opts: { json?: boolean }) =>
      withLogin(io, async (client, login) => {
        const sessions = await client.listSessions();
        if (opts.json) return printJson(io, sessions);
        if (sessions.length === 0) return say(io, 'No sessions.');
        const owner = await ownerNames(client, login);
        printTable(
          io,
          ['ID', 'CODE', 'STATUS', 'CUSTOMER', 'CUSTOMER EMAIL', 'MAIL', 'UDP', 'OWNER', 'CREATED'],
          sessions.map((s) => [
            s.id,
            s.session_code,
            s.status,
            s.customer_name,
            s.customer_email,
            mailState(s),
            s.udp_port,
            owner(s.tech_user_id),
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
        const answer = await client.closeSession(Number(idText)).catch((err: unknown) => codeGivenAsId(client, idText, err));
        if (opts.json) return printJson(io, answer);
        // Like `gh pr close` on a closed PR: say so, exit 0 (the wanted end state holds).
        if (answer.already_closed) return say(io, `Session ${idText} was already closed; nothing to do.`);
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

function printSession(io: CommandIo, s: CreatedSession, customerCommand: string): void {
  printFields(io, [
    ['code', s.session_code],
    ['id', s.id],
    ['status', s.status],
    ['customer', s.customer_name],
    ['customer email', s.customer_email],
    ...(s.email_status !== undefined ? [['mail', mailState(s)] as [string, string | null]] : []),
    ['UDP port', s.udp_port],
    ...unencryptedField(s.allow_unencrypted_agent),
    ['created', s.created_at],
    ['customer runs', customerCommand],
    ...(s.join_url ? [['help page', s.join_url] as [string, string]] : []),
  ]);
}

/** Whether the reference client's clear stream may join; nothing from brokers that predate it. */
function unencryptedField(allowed: boolean | undefined): [string, string][] {
  if (allowed === undefined) return [];
  return [['unencrypted agent', allowed ? 'allowed (reference Windows client; the stream is NOT encrypted)' : 'refused']];
}

/** The broker's command (its own package); an older broker that sends none gets the plain one. */
const customerCommandOf = (s: CreatedSession, server: string): string =>
  s.customer_command ?? `rac agent --code ${s.session_code} --server ${server}`;

/** "failed: why" for a failed mail, the status alone otherwise. */
const mailState = (s: Session): string | null =>
  s.email_status === 'failed' && s.email_error ? `failed: ${s.email_error}` : (s.email_status ?? null);

/**
 * OWNER as an email: an admin's list holds everyone's sessions (GET /api/users names them); a
 * tech may not list users, and their list holds only their own sessions. A number stays where
 * no email is known (RAC_TOKEN without a stored login).
 */
async function ownerNames(client: BrokerClient, login: Credentials): Promise<(id: number) => string | number> {
  try {
    const emails = new Map((await client.listUsers()).map((u) => [u.id, u.email]));
    return (id) => emails.get(id) ?? id;
  } catch (err) {
    if (!(err instanceof BrokerApiError) || err.status !== 403) throw err;
    return (id) => login.email ?? id;
  }
}

/** A 9-digit "id" that is not found is most likely a code: say which id it is, if one of ours. */
async function codeGivenAsId(client: BrokerClient, idText: string, err: unknown): Promise<never> {
  if (!(err instanceof BrokerApiError) || err.status !== 404 || !isSessionCode(idText)) throw err;
  const session = (await client.listSessions().catch(() => [])).find((s) => s.session_code === idText);
  const hint = session
    ? `that is the code of session ${session.id}: run \`rac session close ${session.id}\``
    : 'a 9-digit code is not an id: see the ID column of `rac session list`';
  throw new CliError(`${err.detail}: ${hint}`, ExitCode.notFound);
}
