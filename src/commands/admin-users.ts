// rac admin users list|add|set|disable
import { Command, Option } from 'commander';
import type { Role, User, UserChanges } from '../client/broker-client.js';
import { terminalSafe } from '../protocol/display-text.js';
import { withLogin } from './broker-call.js';
import { usageError } from './cli-error.js';
import type { CommandIo } from './io.js';
import { printFields, printJson, printTable, say } from './output.js';
import { readSecret } from './prompt.js';

const ROLES: Role[] = ['admin', 'tech'];

const parseMaxSessions = (text: string): number => {
  if (!/^\d+$/.test(text) || Number(text) > 10_000) throw usageError(`--max-sessions: expected a number 0-10000, got "${text}"`);
  return Number(text);
};

const roleOption = () => new Option('--role <role>', 'admin or tech').choices(ROLES);
const maxSessionsOption = () => new Option('--max-sessions <n>', 'how many sessions may be open at once').argParser(parseMaxSessions);

interface UserFields {
  fullName?: string;
  role?: Role;
  maxSessions?: number;
  passwordStdin?: boolean;
  json?: boolean;
}

export function usersCommand(io: CommandIo): Command {
  const users = new Command('users').description('manage the IT members who can log in (admin only)');
  users
    .command('list')
    .description('list all users')
    .option('--json', 'print one JSON document on stdout')
    .action((opts: { json?: boolean }) =>
      withLogin(io, async (client) => {
        const list = await client.listUsers();
        if (opts.json) return printJson(io, list);
        printTable(
          io,
          ['ID', 'EMAIL', 'NAME', 'ROLE', 'MAX SESSIONS', 'ACTIVE', 'CREATED'],
          list.map((u) => [u.id, u.email, u.full_name, u.role, u.max_sessions, u.is_active ? 'yes' : 'no', u.created_at]),
        );
      }),
    );
  users
    .command('add')
    .description('create a user; the password is prompted for (or read with --password-stdin)')
    .requiredOption('--email <email>', 'the login')
    .option('--full-name <name>', 'shown to customers when this user connects')
    .addOption(roleOption().default('tech'))
    .addOption(maxSessionsOption())
    .option('--password-stdin', 'read the password from stdin instead of prompting')
    .option('--json', 'print the new user as JSON')
    .action((opts: UserFields & { email: string }) =>
      withLogin(io, async (client) => {
        const password = await readSecret(io, { label: `Password for ${opts.email}`, fromStdin: opts.passwordStdin, confirm: true });
        const user = await client.createUser({
          email: opts.email,
          password,
          full_name: opts.fullName || null,
          role: opts.role,
          max_sessions: opts.maxSessions,
        });
        if (opts.json) return printJson(io, user);
        say(io, `User ${terminalSafe(user.email)} created (id ${user.id}).`);
        printUser(io, user);
      }),
    );
  users
    .command('set')
    .description("change a user's name, role, session limit, password, or enable them again")
    .argument('<user>', 'user id or email')
    .option('--full-name <name>', 'new display name ("" clears it)')
    .addOption(roleOption())
    .addOption(maxSessionsOption())
    .option('--enable', 'let a disabled user log in again')
    .option('--new-password', 'prompt for a new password (logs the user out everywhere)')
    .option('--password-stdin', 'read the new password from stdin (implies --new-password)')
    .option('--json', 'print the changed user as JSON')
    .action((ref: string, opts: UserFields & { enable?: boolean; newPassword?: boolean }) =>
      withLogin(io, async (client) => {
        const changes: UserChanges = {};
        if (opts.fullName !== undefined) changes.full_name = opts.fullName || null;
        if (opts.role) changes.role = opts.role;
        if (opts.maxSessions !== undefined) changes.max_sessions = opts.maxSessions;
        if (opts.enable) changes.is_active = true;
        const target = await client.findUser(ref);
        if (opts.newPassword || opts.passwordStdin) {
          changes.password = await readSecret(io, {
            label: `New password for ${terminalSafe(target.email)}`,
            fromStdin: opts.passwordStdin,
            confirm: true,
          });
        }
        if (Object.keys(changes).length === 0) {
          throw usageError('nothing to change: give --full-name, --role, --max-sessions, --enable or --new-password');
        }
        const user = await client.updateUser(target.id, changes);
        if (opts.json) return printJson(io, user);
        say(io, `User ${terminalSafe(user.email)} updated.${changes.password ? ' Their existing logins were revoked.' : ''}`);
        printUser(io, user);
      }),
    );
  users
    .command('disable')
    .description('stop a user from logging in and revoke their tokens (nothing is deleted)')
    .argument('<user>', 'user id or email')
    .option('--json', 'print the changed user as JSON')
    .action((ref: string, opts: { json?: boolean }) =>
      withLogin(io, async (client) => {
        const target = await client.findUser(ref);
        const user = await client.updateUser(target.id, { is_active: false });
        if (opts.json) return printJson(io, user);
        say(
          io,
          `User ${terminalSafe(user.email)} disabled; their tokens no longer work. \`rac admin users set ${user.id} --enable\` undoes it.`,
        );
      }),
    );
  return users;
}

function printUser(io: CommandIo, u: User): void {
  printFields(io, [
    ['id', u.id],
    ['email', u.email],
    ['name', u.full_name],
    ['role', u.role],
    ['max sessions', u.max_sessions],
    ['active', u.is_active ? 'yes' : 'no'],
    ['created', u.created_at],
  ]);
}
