// rac login: ask the broker for a token and store it (credential store, or a 0600 file).
import { Command } from 'commander';
import { resolve } from 'node:path';
import { CredentialStore } from '../client/credentials.js';
import { terminalSafe } from '../protocol/display-text.js';
import { withServer } from './broker-call.js';
import { usageError } from './cli-error.js';
import type { CommandIo } from './io.js';
import { printJson, say } from './output.js';
import { readSecret } from './prompt.js';

export interface LoginOptions {
  server?: string;
  email?: string;
  passwordStdin?: boolean;
  caFile?: string;
  json?: boolean;
}

export function loginCommand(io: CommandIo): Command {
  return new Command('login')
    .description('log in to a broker and store the token')
    .option('--server <url>', 'the broker, e.g. https://rac.example.com (default: RAC_SERVER, then the last login)')
    .option('--email <email>', 'your account (default: the last login)')
    .option('--ca-file <file>', "PEM file of the CA that signed the broker's certificate (a private CA); kept with the login")
    .option('--password-stdin', 'read the password from stdin instead of prompting')
    .option('--json', 'print the login (server, user, where the token went) as JSON')
    .action((opts: LoginOptions) => runLogin(opts, io));
}

export async function runLogin(options: LoginOptions, io: CommandIo): Promise<void> {
  const store = new CredentialStore(io.env);
  const email = options.email ?? store.readConfig().email;
  if (!email) throw usageError('--email: required (the account to log in as)');
  await withServer(
    io,
    options.server,
    async (client) => {
      const password = await readSecret(io, { label: `Password for ${email} at ${client.server}`, fromStdin: options.passwordStdin });
      const response = await client.login(email, password);
      // Kept: the flag's file, else the one already stored for this server (RAC_CA_FILE stays the environment's).
      const previous = store.readConfig();
      const caFile = options.caFile ? resolve(options.caFile) : previous.server === client.server ? previous.ca_file : undefined;
      const saved = await store.save({ server: client.server, email: response.user.email, token: response.access_token, caFile });
      const who = `Logged in to ${client.server} as ${terminalSafe(response.user.email)} (${response.user.role})`;
      if (saved.store === 'file') {
        // The common case on a server: no Secret Service at all. The D-Bus error text would only alarm.
        say(io, `no system keyring; token stored in ${saved.location} (mode 600)`);
        say(io, `${who}.`);
      } else {
        say(io, `${who}; token stored in ${saved.location}.`);
      }
      if (options.json) {
        printJson(io, { server: client.server, user: response.user, token_store: saved.store, location: saved.location });
      }
    },
    options.caFile,
  );
}
